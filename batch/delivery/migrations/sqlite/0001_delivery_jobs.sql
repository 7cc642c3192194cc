-- 0001: the delivery queue, one row per (flow, resource version) to
-- deliver; times in Unix microseconds.
-- 0001 takes over the table that fhirbridge created at start-up before
-- migration lines (IF NOT EXISTS keeps such a database as it is).
CREATE TABLE IF NOT EXISTS delivery_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    flow          TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    retry_base    INTEGER NOT NULL,
    run_at        BIGINT  NOT NULL,
    lease_until   BIGINT  NOT NULL,
    last_error    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (flow, resource_type, resource_id, version)
);
CREATE INDEX IF NOT EXISTS delivery_jobs_ready ON delivery_jobs (state, run_at);
CREATE INDEX IF NOT EXISTS delivery_jobs_resource ON delivery_jobs (resource_type, resource_id, flow, version);
