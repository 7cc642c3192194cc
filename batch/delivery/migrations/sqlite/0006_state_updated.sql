-- 0006: indexes of the operator console's queue views.
-- delivery_jobs_state_updated: the dashboard's counts of jobs delivered
-- or dead-lettered per flow in the last hour and day read a range of it
-- without touching the rows.
-- delivery_jobs_state_id and delivery_jobs_flow_id: the Deliveries page
-- lists a state's or a flow's jobs newest first, keyset-paged by id,
-- reading only the page's entries (no sort of the whole selection).
CREATE INDEX IF NOT EXISTS delivery_jobs_state_updated ON delivery_jobs (state, updated_at, flow);
CREATE INDEX IF NOT EXISTS delivery_jobs_state_id ON delivery_jobs (state, id);
CREATE INDEX IF NOT EXISTS delivery_jobs_flow_id ON delivery_jobs (flow, id);
