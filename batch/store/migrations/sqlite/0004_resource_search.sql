-- 0004: search columns on resources for the queries that run on a
-- schedule (the export window on Appointment and Slot start, the status
-- poll on Appointment status). The store fills them on every put of a
-- resource (search.go); this step fills them for the rows stored before.
-- start_at is the start instant in Unix microseconds for the types that
-- have one (NULL when absent or not a full date-time with zone; rounded
-- to the millisecond here, SQLite's date precision); status is the
-- resource's top-level status code (NULL when absent or longer than 64
-- bytes). Both are prefilters: readers re-check the body. A body that is
-- not valid JSON leaves both NULL.
ALTER TABLE resources ADD COLUMN start_at INTEGER;
ALTER TABLE resources ADD COLUMN status TEXT;
UPDATE resources SET
    start_at = (SELECT CASE
        WHEN length(s) >= 20
         AND substr(s, 1, 19) GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]'
         AND CAST(substr(s, 12, 2) AS INTEGER) < 24
         AND date(substr(s, 1, 10)) IS substr(s, 1, 10)
         AND (frac = '' OR (length(frac) >= 2 AND substr(frac, 1, 1) IN ('.', ',')
                            AND rtrim(substr(frac, 2), '0123456789') = ''))
         AND (tz = 'Z' OR (tz GLOB '[+-][0-2][0-9]:[0-5][0-9]' AND CAST(substr(tz, 2, 2) AS INTEGER) < 24))
        THEN CAST(round((julianday(replace(s, ',', '.')) - 2440587.5) * 86400000.0) AS INTEGER) * 1000
        END
        FROM (SELECT s,
                CASE WHEN substr(s, -1) = 'Z' THEN 'Z' ELSE substr(s, -6) END AS tz,
                CASE WHEN substr(s, -1) = 'Z' THEN substr(s, 20, length(s) - 20)
                     ELSE substr(s, 20, length(s) - 25) END AS frac
              FROM (SELECT CASE WHEN resources.type IN ('Appointment', 'Slot') AND json_valid(CAST(v.body AS TEXT))
                                 AND json_type(CAST(v.body AS TEXT), '$.start') = 'text'
                            THEN json_extract(CAST(v.body AS TEXT), '$.start') END AS s
                    FROM resource_versions v
                    WHERE v.type = resources.type AND v.id = resources.id AND v.version = resources.version))),
    status = (SELECT CASE WHEN json_valid(CAST(v.body AS TEXT))
                           AND json_type(CAST(v.body AS TEXT), '$.status') = 'text'
                           AND length(CAST(json_extract(CAST(v.body AS TEXT), '$.status') AS BLOB)) BETWEEN 1 AND 64
                      THEN json_extract(CAST(v.body AS TEXT), '$.status') END
              FROM resource_versions v
              WHERE v.type = resources.type AND v.id = resources.id AND v.version = resources.version)
WHERE version > 0;
CREATE INDEX resources_start ON resources (type, start_at);
CREATE INDEX resources_status ON resources (type, status);
