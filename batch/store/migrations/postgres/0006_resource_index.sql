-- 0006: the search index of the FHIR endpoint. One row per indexed value
-- of the current version of a resource (batch/searchindex defines the
-- parameters and how values are folded); the store rewrites a resource's
-- rows in the transaction of every put that makes a new version.
-- value_text holds a folded string, a token code or value, or a reference
-- Type/id; value_system a token's system; value_exact a string as
-- written; value_low and value_high a date's range [low, high) in Unix
-- microseconds; seq numbers a resource's rows, so (type, id, param, seq)
-- is the key, which is also the lookup by resource (rewrite, delete, sort
-- key). Every index entry costs a B-tree insert and, scattered by value,
-- a page of its own written to the WAL at commit: most of the cost of a
-- put. So besides the key there is one index, resource_index_value,
-- serving every search: a date row has value_text and value_system '',
-- so its range follows; an exact string match goes through value_text,
-- the folded form of value_exact. The index holds every column a search
-- reads, so no search visits the table (without value_exact, SQLite
-- would rather scan the table's key). On SQLite the table is WITHOUT
-- ROWID, its key being its only other B-tree.
-- resource_index_pending lists the resources stored before
-- this step: the store indexes them in bounded batches when it opens.
CREATE TABLE resource_index (
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    param        TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    value_system TEXT COLLATE "C" NOT NULL DEFAULT '',
    value_text   TEXT COLLATE "C" NOT NULL DEFAULT '',
    value_exact  TEXT COLLATE "C" NOT NULL DEFAULT '',
    value_low    BIGINT,
    value_high   BIGINT,
    PRIMARY KEY (type, id, param, seq),
    FOREIGN KEY (type, id) REFERENCES resources (type, id) ON DELETE CASCADE
);
CREATE INDEX resource_index_value ON resource_index
    (type, param, value_text, value_system, value_low, value_high, value_exact);
CREATE TABLE resource_index_pending (
    type TEXT NOT NULL,
    id   TEXT NOT NULL,
    PRIMARY KEY (type, id)
);
INSERT INTO resource_index_pending (type, id) SELECT type, id FROM resources WHERE version > 0;
