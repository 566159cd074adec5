-- Who saw or took children's records out of the desk (issue 11): every export, and every view
-- of learning-support data, recorded locally — what, which students, when, and where to.
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('export', 'view')),
    -- The document or screen, e.g. 'register', 'emergency', 'learning_support'.
    what TEXT NOT NULL,
    -- Its parameters in words, e.g. 'omniforge:sec-7b 2025-09-01..2025-09-30, pdf'.
    detail TEXT NOT NULL,
    -- The students named, as ["system:id", …].
    students_json TEXT NOT NULL,
    -- Where it went: the file written (exports), or the screen (views).
    destination TEXT,
    -- The computer account that did it.
    by_whom TEXT
);
CREATE INDEX access_log_by_time ON access_log (at, id);
