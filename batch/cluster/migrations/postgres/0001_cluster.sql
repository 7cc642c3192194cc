-- 0001: cluster membership and named leases; times in Unix microseconds.
-- cluster_nodes has one row per running process (serve replica or a
-- command that works shared state), refreshed by its heartbeat; a row
-- whose heartbeat is older than the dead-after setting belongs to a dead
-- process, and any live node reaps it. cluster_leases names a piece of
-- singleton work (an export slot, an inbound file, a poller) and who
-- holds it until when; a lease of a dead node is free at once.
CREATE TABLE cluster_nodes (
    id           TEXT    NOT NULL PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL
);
CREATE TABLE cluster_leases (
    name        TEXT   NOT NULL PRIMARY KEY,
    owner       TEXT   NOT NULL,
    lease_until BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL
);
CREATE INDEX cluster_leases_owner ON cluster_leases (owner);
