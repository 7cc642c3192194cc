-- 0006: the search index of the FHIR endpoint. One row per indexed value
-- of the current version of a resource (batch/searchindex defines the
-- parameters and how values are folded); the store rewrites a resource's
-- rows in the transaction of every put that makes a new version.
-- value_text holds a folded string, a token code or value, or a reference
-- Type/id; value_system a token's system; value_exact a string as
-- written; value_low and value_high a date's range [low, high) in Unix
-- microseconds. resource_index_pending lists the resources stored before
-- this step: the store indexes them in bounded batches when it opens.
CREATE TABLE resource_index (
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    param        TEXT    NOT NULL,
    value_system TEXT COLLATE "C" NOT NULL DEFAULT '',
    value_text   TEXT COLLATE "C" NOT NULL DEFAULT '',
    value_exact  TEXT COLLATE "C" NOT NULL DEFAULT '',
    value_low    BIGINT,
    value_high   BIGINT,
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX resource_index_text ON resource_index (type, param, value_text, value_system);
CREATE INDEX resource_index_exact ON resource_index (type, param, value_exact);
CREATE INDEX resource_index_date ON resource_index (type, param, value_low, value_high);
CREATE INDEX resource_index_resource ON resource_index (type, id, param);
CREATE TABLE resource_index_pending (
    type TEXT NOT NULL,
    id   TEXT NOT NULL,
    PRIMARY KEY (type, id)
);
INSERT INTO resource_index_pending (type, id) SELECT type, id FROM resources WHERE version > 0;
