-- 0005: per-flow rate limits. delivery_flow_rate keeps one token bucket
-- per rate-limited flow, shared by every replica, as delivery_rate does
-- per vendor: tokens left and when they were last counted (Unix µs). A
-- table of its own rather than rows of delivery_rate: flow names (route
-- names, chosen freely) and vendor names would share one key space
-- there, and a route named like a vendor would share its bucket.
-- Both buckets of a claim are counted under the flow's vendor's lock.
CREATE TABLE IF NOT EXISTS delivery_flow_rate (
    flow        TEXT   NOT NULL PRIMARY KEY,
    tokens      REAL NOT NULL,
    refilled_at BIGINT NOT NULL
);
