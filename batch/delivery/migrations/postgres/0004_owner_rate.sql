-- 0004: replicas sharing the queue. owner names the cluster node (see
-- batch/cluster) that holds a job in flight ('' otherwise): every state
-- change of a held job is guarded by it, and the jobs of a node counted
-- dead are handed back at once (owner cleared, lease ended). In-flight
-- rows are few (the concurrency limits bound them) and are reached
-- through delivery_jobs_ready (state, run_at), so owner needs no index.
-- delivery_rate keeps one token bucket per rate-limited vendor, shared by
-- every replica: tokens left and when they were last counted (Unix µs).
ALTER TABLE delivery_jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE TABLE delivery_rate (
    vendor      TEXT   NOT NULL PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_at BIGINT NOT NULL
);
