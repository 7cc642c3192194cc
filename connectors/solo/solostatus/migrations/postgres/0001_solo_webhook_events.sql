-- 0001: Teladoc Solo webhook events: hash (SHA-256 of the ciphertext),
-- event_id (Solo's, '' when none; unique when set), type, object_id (the
-- Solo id named), state, attempts, last_error, received_at, next_at (Unix
-- microseconds).
-- 0001 takes over the table that fhirbridge created at start-up before
-- migration lines (IF NOT EXISTS keeps such a database as it is).
CREATE TABLE IF NOT EXISTS solo_webhook_events (
    hash        TEXT    NOT NULL PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    next_at     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS solo_webhook_events_id ON solo_webhook_events (event_id) WHERE event_id <> '';
CREATE INDEX IF NOT EXISTS solo_webhook_events_due ON solo_webhook_events (state, next_at);
