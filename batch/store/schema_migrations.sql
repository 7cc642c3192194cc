-- The table that records applied migrations, created before any migration
-- runs. It is created in the shape fhirbridge used before migration lines
-- (one version sequence); migration 0003 of the store's own line gives it
-- its line column, so that a database created before lines and a fresh one
-- go through the same steps.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);
