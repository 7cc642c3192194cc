-- 0006: the operator console's counts (jobs delivered or dead-lettered
-- per flow in the last hour and day) read a range of this index without
-- touching the rows: state, then the time of the last change, then flow.
CREATE INDEX IF NOT EXISTS delivery_jobs_state_updated ON delivery_jobs (state, updated_at, flow);
