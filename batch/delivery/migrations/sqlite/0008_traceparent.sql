-- 0008: the W3C traceparent of the request that enqueued a job (NULL when
-- tracing was off), so the job's delivery attempts join the request's
-- trace. It names trace and span ids only, never patient values.
ALTER TABLE delivery_jobs ADD COLUMN traceparent TEXT;
