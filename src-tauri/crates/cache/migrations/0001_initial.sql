-- Schooldesk cache, layout 1.
--
-- Every row copied from a school system keeps `system`, `source_id` (its id there),
-- `fetched_at` and `source_json` (the system's JSON, with never-stored fields removed), and is
-- unique on (system, source_id). Times are UTC RFC 3339 with microseconds, fixed width
-- ("2024-09-02T08:15:00.000000Z"), so text order is time order. Dates are "YYYY-MM-DD".
--
-- Links between rows (student -> guardian, section -> student) carry no foreign keys: a sync
-- may store a roster before the students it names, and a system may list a student in a
-- class that Schooldesk was not allowed to read.
--
-- This file is append-only history: never edit it once released; add 0002_… instead.

CREATE TABLE schools (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT,
    UNIQUE (system, source_id)
);

CREATE TABLE students (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    external_id TEXT,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    preferred_name TEXT,
    date_of_birth TEXT,
    grade TEXT,
    school_source_id TEXT,
    homeroom TEXT,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    UNIQUE (system, source_id)
);
CREATE INDEX students_by_name ON students (family_name COLLATE NOCASE, given_name COLLATE NOCASE);
CREATE INDEX students_by_external_id ON students (external_id) WHERE external_id IS NOT NULL;

-- Name search: each word typed matches the start of a word of a name or of the external id,
-- whatever the case or accents ("zoe" finds "Zoë"). Kept in step with `students` by triggers.
-- No prefix indexes (`prefix = '2 3'`): measured on 50,000 students they made bulk writes
-- ~25% slower for no gain on 3-letter searches (two-word searches 0.6 ms instead of 0.3 ms).
CREATE VIRTUAL TABLE students_search USING fts5 (
    given_name, family_name, preferred_name, external_id,
    content = 'students', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER students_search_insert AFTER INSERT ON students BEGIN
    INSERT INTO students_search (rowid, given_name, family_name, preferred_name, external_id)
    VALUES (new.id, new.given_name, new.family_name, new.preferred_name, new.external_id);
END;
CREATE TRIGGER students_search_delete AFTER DELETE ON students BEGIN
    INSERT INTO students_search (students_search, rowid, given_name, family_name, preferred_name, external_id)
    VALUES ('delete', old.id, old.given_name, old.family_name, old.preferred_name, old.external_id);
END;
-- A re-sync rewrites every row; only a changed name is worth re-indexing.
CREATE TRIGGER students_search_update AFTER UPDATE ON students
WHEN old.given_name IS NOT new.given_name OR old.family_name IS NOT new.family_name
  OR old.preferred_name IS NOT new.preferred_name OR old.external_id IS NOT new.external_id
BEGIN
    INSERT INTO students_search (students_search, rowid, given_name, family_name, preferred_name, external_id)
    VALUES ('delete', old.id, old.given_name, old.family_name, old.preferred_name, old.external_id);
    INSERT INTO students_search (rowid, given_name, family_name, preferred_name, external_id)
    VALUES (new.id, new.given_name, new.family_name, new.preferred_name, new.external_id);
END;

CREATE TABLE guardians (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    UNIQUE (system, source_id)
);

CREATE TABLE student_guardians (
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    student_source_id TEXT NOT NULL,
    guardian_source_id TEXT NOT NULL,
    relationship TEXT,
    is_primary INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    can_pick_up INTEGER CHECK (can_pick_up IN (0, 1)),
    emergency_contact INTEGER CHECK (emergency_contact IN (0, 1)),
    PRIMARY KEY (system, student_source_id, guardian_source_id)
) WITHOUT ROWID;
CREATE INDEX student_guardians_by_guardian ON student_guardians (system, guardian_source_id);

CREATE TABLE sections (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    school_source_id TEXT,
    name TEXT NOT NULL,
    code TEXT,
    UNIQUE (system, source_id)
);

-- One roster row; the primary key serves "who is in this section", the index "which
-- sections is this student in".
CREATE TABLE enrollments (
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    section_source_id TEXT NOT NULL,
    student_source_id TEXT NOT NULL,
    grade_level TEXT,
    start_date TEXT,
    end_date TEXT,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (system, section_source_id, student_source_id)
) WITHOUT ROWID;
CREATE INDEX enrollments_by_student ON enrollments (system, student_source_id);

-- A mark is one student, section, period and date. `section_source_id` and `period` hold ''
-- when the system has none, so that the natural key is a real unique constraint (NULLs never
-- collide). `source_id` is NULL for a mark taken here that its system has not confirmed yet.
CREATE TABLE attendance_marks (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    student_source_id TEXT NOT NULL,
    section_source_id TEXT NOT NULL DEFAULT '',
    period TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('present', 'absent', 'tardy', 'excused')),
    code TEXT,
    note TEXT,
    minutes INTEGER,
    version INTEGER,
    state TEXT NOT NULL CHECK (state IN ('synced', 'pending', 'conflict', 'local_only')),
    UNIQUE (system, student_source_id, section_source_id, period, date),
    UNIQUE (system, source_id)
);
CREATE INDEX attendance_marks_by_date ON attendance_marks (date, system, section_source_id, period);

CREATE TABLE attendance_codes (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT CHECK (status IN ('present', 'absent', 'tardy', 'excused')),
    UNIQUE (system, source_id)
);

CREATE TABLE checklists (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (system, source_id)
);

-- Items are part of their checklist (its source_json holds them) and are replaced with it.
CREATE TABLE checklist_items (
    system TEXT NOT NULL,
    checklist_source_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    required INTEGER NOT NULL CHECK (required IN (0, 1)),
    PRIMARY KEY (system, checklist_source_id, source_id),
    FOREIGN KEY (system, checklist_source_id) REFERENCES checklists (system, source_id)
        ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE checklist_entries (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    checklist_source_id TEXT NOT NULL,
    item_source_id TEXT NOT NULL,
    record_source_id TEXT,
    external_student_id TEXT,
    completed INTEGER NOT NULL CHECK (completed IN (0, 1)),
    date_completed TEXT,
    UNIQUE (system, source_id)
);
CREATE INDEX checklist_entries_by_record ON checklist_entries (system, record_source_id, checklist_source_id);

CREATE TABLE enrollment_records (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('roster', 'submission')),
    published_action_id TEXT,
    external_student_id TEXT,
    given_name TEXT,
    family_name TEXT,
    date_of_birth TEXT,
    grade TEXT,
    status TEXT,
    UNIQUE (system, source_id)
);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    record_source_id TEXT,
    name TEXT NOT NULL,
    content_type TEXT,
    content BLOB,
    UNIQUE (system, source_id)
);
CREATE INDEX documents_by_record ON documents (system, record_source_id);

CREATE TABLE learning_support_records (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    student_source_id TEXT NOT NULL,
    support_type TEXT,
    severity TEXT,
    status TEXT,
    notes TEXT,
    UNIQUE (system, source_id)
);
CREATE INDEX learning_support_records_by_student ON learning_support_records (system, student_source_id);

CREATE TABLE learning_support_reviews (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    record_source_id TEXT,
    student_source_id TEXT,
    review_type TEXT,
    review_date TEXT,
    outcome TEXT,
    UNIQUE (system, source_id)
);
CREATE INDEX learning_support_reviews_by_student ON learning_support_reviews (system, student_source_id);

CREATE TABLE grades (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    source_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    source_json TEXT NOT NULL,
    student_source_id TEXT NOT NULL,
    section_source_id TEXT NOT NULL,
    assignment TEXT NOT NULL,
    score TEXT,
    max_score TEXT,
    UNIQUE (system, source_id)
);
CREATE INDEX grades_by_section ON grades (system, section_source_id, student_source_id);

-- How to reach each system. Secrets (API keys, client secrets) live in the keychain, never here.
CREATE TABLE connections (
    system TEXT PRIMARY KEY CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    base_url TEXT NOT NULL,
    realm TEXT,
    client_id TEXT,
    settings_json TEXT NOT NULL DEFAULT '{}',
    learning_support_enabled INTEGER NOT NULL DEFAULT 0 CHECK (learning_support_enabled IN (0, 1)),
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Where each pull stopped (cursor, page, high-water mark), written in the same transaction as
-- the rows it fetched, so a crash never skips or double-counts a page.
CREATE TABLE sync_state (
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    resource TEXT NOT NULL,
    progress_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (system, resource)
) WITHOUT ROWID;

-- Writes waiting for a system. AUTOINCREMENT: ids are never reused, so "lowest id first per
-- entity" stays true even after the newest entries are deleted.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    operation TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'conflict', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    result_json TEXT
);
CREATE INDEX outbox_open_by_entity ON outbox (entity_key, id) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_open_by_due ON outbox (next_attempt_at, id) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_state ON outbox (state, id);

-- Fields on which two systems disagree about the same child, for a person to review.
CREATE TABLE disagreements (
    external_id TEXT NOT NULL,
    field TEXT NOT NULL,
    values_json TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    PRIMARY KEY (external_id, field)
) WITHOUT ROWID;
