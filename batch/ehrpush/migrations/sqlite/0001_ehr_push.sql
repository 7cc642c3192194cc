-- 0001: the EHR write-back queue, one row per (queue, resource); times in
-- Unix microseconds.
-- 0001 takes over the table that fhirbridge created at start-up before
-- migration lines (IF NOT EXISTS keeps such a database as it is).
CREATE TABLE IF NOT EXISTS ehr_push (
    queue       TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    last_status INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    dead        INTEGER NOT NULL,
    queued_at   BIGINT  NOT NULL,
    next_at     BIGINT  NOT NULL,
    PRIMARY KEY (queue, type, id)
);
CREATE INDEX IF NOT EXISTS ehr_push_due ON ehr_push (queue, dead, next_at);
