-- Why a due outbox entry was not attempted (its system unreachable or not connected, or the
-- replay paused): such entries were never sent, so "Send now" may try them at once.
ALTER TABLE outbox ADD COLUMN unsent_reason TEXT;

-- Rows a system stopped returning, held back from deletion because there were more of them
-- than the guardrail allows, until a person confirms (`schooldesk sync --confirm-removals`).
CREATE TABLE held_removals (
    system TEXT NOT NULL CHECK (system IN ('omniforge', 'powerschool', 'matrix', 'hubmis')),
    table_name TEXT NOT NULL,
    source_id TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    PRIMARY KEY (system, table_name, source_id)
) WITHOUT ROWID;
