-- 0007: the request id of the HTTP request that enqueued a job (its
-- X-Request-Id, checked, or a generated one), so that the delivery
-- attempts' log lines name the POST that caused them. '' for jobs enqueued
-- outside a request (files, schedules, worker jobs) and for older jobs.
ALTER TABLE delivery_jobs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
