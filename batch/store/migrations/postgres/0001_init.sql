-- 0001: resources with history, identifier index, vendor crosswalk,
-- inbound request idempotency, message log.
CREATE TABLE resources (
    type       TEXT        NOT NULL,
    id         TEXT        NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (type, id)
);

CREATE TABLE resource_versions (
    type       TEXT        NOT NULL,
    id         TEXT        NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT        NOT NULL,
    body       BYTEA    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (type, id, version),
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);

CREATE TABLE identifiers (
    type        TEXT NOT NULL,
    system      TEXT NOT NULL,
    value_hash  TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (type, system, value_hash)
);

CREATE TABLE crosswalk (
    vendor     TEXT NOT NULL,
    type       TEXT NOT NULL,
    fhir_id    TEXT NOT NULL,
    vendor_id  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (vendor, type, fhir_id),
    UNIQUE (vendor, type, vendor_id)
);

CREATE TABLE requests (
    key        TEXT    NOT NULL PRIMARY KEY,
    status     INTEGER NOT NULL,
    response   BYTEA    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX requests_created_at ON requests (created_at);

CREATE TABLE messages (
    id            BIGSERIAL PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind          TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    vendor        TEXT NOT NULL,
    status        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    body          BYTEA
);
CREATE INDEX messages_at ON messages (at);
CREATE INDEX messages_resource ON messages (resource_type, resource_id);
