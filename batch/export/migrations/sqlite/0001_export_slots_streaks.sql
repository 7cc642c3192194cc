-- 0001: the scheduled slots each export job has completed (ledger_id is the
-- file_ledger row of the upload) and each job's current failure streak;
-- times in Unix microseconds.
-- 0001 takes over the tables that fhirbridge created at start-up before
-- migration lines (IF NOT EXISTS keeps such a database as it is).
CREATE TABLE IF NOT EXISTS export_slots (
    job       TEXT   NOT NULL,
    slot      TEXT   NOT NULL,
    ledger_id BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (job, slot)
);
CREATE TABLE IF NOT EXISTS export_streaks (
    job      TEXT   NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    missed   BIGINT NOT NULL,
    since    BIGINT NOT NULL,
    notified BIGINT NOT NULL
);
