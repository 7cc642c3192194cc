-- 0003: worker jobs. A flow may be worked by a handler function instead
-- of a mapping and a connector (Flow.Work): its jobs name no stored
-- resource but carry their own data, kept here (UTF-8 text, '' for the
-- jobs of a resource). resource_type then holds the job's kind and
-- resource_id its idempotency key (version 1).
ALTER TABLE delivery_jobs ADD COLUMN data TEXT NOT NULL DEFAULT '';
