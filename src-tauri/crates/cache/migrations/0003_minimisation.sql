-- Data minimisation (issue 7): a second opt-in beside learning support, and what earlier
-- versions stored beyond the allow-lists removed from files already on disk.
--
-- Medical alerts: HUBmis medical conditions are kept only when the school turns this on.
ALTER TABLE connections ADD COLUMN medical_alerts_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (medical_alerts_enabled IN (0, 1));

-- Faith and ethnicity are never kept; medical conditions were kept by everyone (the option
-- is new, so off); the learning-support summary only where learning support is on. The rest
-- of each row is reduced to its allow-list when it is next synced or its connection saved.
UPDATE students SET source_json = json_remove(source_json,
        '$.faith', '$.religion', '$.ethnicity', '$.ethnic_origin', '$.medical_condition_severity')
WHERE system = 'hubmis';
UPDATE students SET source_json = json_remove(source_json, '$.learning_support_record_summary')
WHERE system = 'hubmis' AND system NOT IN
    (SELECT system FROM connections WHERE learning_support_enabled = 1);

-- Learning-support records of a connection that has it off (turning it off used to keep them).
DELETE FROM learning_support_records WHERE system NOT IN
    (SELECT system FROM connections WHERE learning_support_enabled = 1);
DELETE FROM learning_support_reviews WHERE system NOT IN
    (SELECT system FROM connections WHERE learning_support_enabled = 1);
