-- 0007: the message log as the console's Messages page reads it.
-- ident_hash is the hex SHA-256 of an inbound Bundle's identifier value
-- (never the value itself, like identifiers.value_hash), job_id links an
-- outbound message to its delivery_jobs row (attempts, last error), and
-- status_code and elapsed_us keep the vendor's HTTP answer and how long
-- it took, when known (0 otherwise). message_resources lists the resource
-- versions an inbound message stored, so that its stages link to the
-- stored versions, their delivery jobs and the crosswalk instead of
-- copying them.
-- The list is newest first, paged by the keyset (at, id): each filter the
-- page offers has an index ordered by at (SQLite appends the rowid, which
-- is id), so that a page reads only its own rows. They are appended at
-- the end of their range (at grows), which keeps the writes cheap; vendor
-- and status together (a vendor's dead letters) have their own. Other
-- combinations are searched in time windows (SearchMessages).
ALTER TABLE messages ADD COLUMN ident_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN job_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN status_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN elapsed_us INTEGER NOT NULL DEFAULT 0;
CREATE TABLE message_resources (
    message_id INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (message_id, type, id)
) WITHOUT ROWID;
CREATE INDEX message_resources_id ON message_resources (id, message_id);
DROP INDEX messages_resource;
CREATE INDEX messages_resource_id ON messages (resource_id, resource_type);
CREATE INDEX messages_status_at ON messages (status, at);
CREATE INDEX messages_kind_at ON messages (kind, at);
CREATE INDEX messages_vendor_at ON messages (vendor, at);
CREATE INDEX messages_vendor_status_at ON messages (vendor, status, at);
CREATE INDEX messages_ident ON messages (ident_hash) WHERE ident_hash <> '';
CREATE INDEX messages_job ON messages (job_id) WHERE job_id <> 0;
CREATE INDEX identifiers_value ON identifiers (value_hash);
CREATE INDEX crosswalk_vendor_id ON crosswalk (vendor_id);
