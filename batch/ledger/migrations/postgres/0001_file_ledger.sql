-- 0001: the file ledger, one row per file written or read; at in Unix
-- microseconds.
-- 0001 takes over the table that fhirbridge created at start-up before
-- migration lines (IF NOT EXISTS keeps such a database as it is).
CREATE TABLE IF NOT EXISTS file_ledger (
    id          BIGSERIAL PRIMARY KEY,
    direction   TEXT    NOT NULL,
    job         TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    sha256      TEXT    NOT NULL,
    rows_ok     INTEGER NOT NULL,
    rows_failed INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS file_ledger_hash ON file_ledger (direction, job, sha256);
CREATE INDEX IF NOT EXISTS file_ledger_path ON file_ledger (direction, job, path);
