-- Every write, exactly once (issue 8): typed writes instead of wire bodies, two more states
-- (held while a system needs attention; discarded by a person), a receipt of every request,
-- the delivery batches fetched from PowerSchool and the import schemas writes are checked
-- against.
--
-- SQLite cannot change a CHECK constraint, so the outbox is rebuilt. The only write earlier
-- versions could queue from a screen or the CLI was an OmniForge mark, whose wire body becomes
-- a typed mark; batches, imports and class changes (reachable only from code) are carried
-- over field by field. Matrix user updates and grades and PowerSchool submissions had no
-- surface at all and no agreed shape, so none can exist in a file and none are carried.
CREATE TABLE outbox_v4 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    operation TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    write_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'conflict', 'failed',
        'held', 'discarded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    unsent_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- The system's answer (done) or its current record (conflict).
    result_json TEXT,
    -- A request went out and no answer was recorded: settle by reading before resending.
    uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
    -- What a person decided: kept_mine, took_theirs, retried, discarded.
    resolution TEXT
);

INSERT INTO outbox_v4 (id, idempotency_key, system, operation, entity_key, write_json, state,
    attempts, next_attempt_at, last_error, unsent_reason, created_at, updated_at, result_json,
    uncertain)
SELECT id, idempotency_key, system, operation, entity_key,
    CASE operation
        WHEN 'submit_attendance' THEN json_object(
            'kind', 'mark',
            'student_id', json_extract(payload_json, '$.studentId'),
            'section_id', json_extract(payload_json, '$.sectionId'),
            'period', json_extract(payload_json, '$.period'),
            'date', json_extract(payload_json, '$.date'),
            'status', json_extract(payload_json, '$.status'),
            'code', json_extract(payload_json, '$.code'),
            'note', json_extract(payload_json, '$.note'),
            'base_version', json_extract(payload_json, '$.baseVersion'))
        WHEN 'create_batch' THEN json_object('kind', 'create_batch',
            'target_id', CAST(json_extract(payload_json, '$.deliveryTargetId') AS TEXT))
        WHEN 'reset_batch' THEN json_object('kind', 'reset_batch',
            'target_id', CAST(json_extract(payload_json, '$.deliveryTargetId') AS TEXT),
            'batch_id', CAST(json_extract(payload_json, '$.batchId') AS TEXT))
        WHEN 'import_roster_record' THEN json_object('kind', 'import_roster_record',
            'action_id', CAST(json_extract(payload_json, '$.publishedActionId') AS TEXT),
            'schema_id', CAST(json_extract(payload_json, '$.schemaId') AS TEXT),
            'record', json(COALESCE(json_extract(payload_json, '$.record'), '{}')))
        WHEN 'add_students_to_class' THEN json_object('kind', 'add_students',
            'class_id', CAST(json_extract(payload_json, '$.class_id') AS TEXT),
            'student_ids', json(COALESCE(json_extract(payload_json, '$.user_ids'), '[]')))
        WHEN 'remove_students_from_class' THEN json_object('kind', 'remove_students',
            'class_id', CAST(json_extract(payload_json, '$.class_id') AS TEXT),
            'student_ids', json(COALESCE(json_extract(payload_json, '$.user_ids'), '[]')))
    END,
    state, attempts, next_attempt_at, last_error, unsent_reason, created_at, updated_at,
    result_json,
    -- An entry left sending by an older version may have reached its system.
    state = 'sending'
FROM outbox
WHERE operation IN ('submit_attendance', 'create_batch', 'reset_batch', 'import_roster_record',
    'add_students_to_class', 'remove_students_from_class');

DROP TABLE outbox;
ALTER TABLE outbox_v4 RENAME TO outbox;
CREATE INDEX outbox_open_by_entity ON outbox (entity_key, id)
    WHERE state IN ('pending', 'sending', 'held');
CREATE INDEX outbox_open_by_due ON outbox (next_attempt_at, id) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_state ON outbox (state, id);
CREATE INDEX outbox_by_system_state ON outbox (system, state);

-- Every request an entry made: what was sent, when, and what the system answered. A row with
-- no finished_at is a request that may have reached the system unanswered.
CREATE TABLE outbox_attempts (
    entry_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    request_json TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    answer_json TEXT,
    PRIMARY KEY (entry_id, n)
) WITHOUT ROWID;

-- PowerSchool delivery batches as fetched: stored in the same transaction that marks their
-- createbatch done, so a batch that left the delivery pool is never lost.
CREATE TABLE delivery_batches (
    target_id TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    outbox_id INTEGER,
    records_json TEXT NOT NULL,
    -- When a reset of this batch was confirmed (its records back in the pool).
    reset_at TEXT,
    PRIMARY KEY (target_id, batch_id)
) WITHOUT ROWID;

-- PowerSchool import schemas, so a roster record is checked against its schema's fields
-- before it is queued (also offline).
CREATE TABLE import_schemas (
    action_id TEXT NOT NULL,
    schema_id TEXT NOT NULL,
    title TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (action_id, schema_id)
) WITHOUT ROWID;
