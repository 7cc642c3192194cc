-- 0002: the EHR write-back joins the one delivery queue. The rows the
-- former table ehr_push still held (line "ehrpush", removed) become jobs
-- of the flow "ehr": a pending row stays pending, due when it was, with
-- its attempts and last error; a dead row becomes a dead letter for an
-- operator (fhirbridge deliveries). Then ehr_push is dropped. A database
-- that never had the table creates it empty first, so the step is the
-- same everywhere.
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
INSERT INTO delivery_jobs
    (flow, resource_type, resource_id, version, state, attempts, retry_base, run_at, lease_until, last_error, created_at, updated_at)
SELECT 'ehr', type, id, version,
    CASE WHEN dead = 0 THEN 'pending' ELSE 'dlq' END,
    attempts, 0,
    CASE WHEN dead = 0 THEN next_at ELSE 0 END,
    0, last_error, queued_at, queued_at
FROM ehr_push WHERE version >= 1
ON CONFLICT DO NOTHING;
DROP TABLE ehr_push;
DELETE FROM schema_migrations WHERE line = 'ehrpush';
