-- 0005: deletion. A DELETE stores a new version of the resource marked
-- deleted (its body is the last live body, kept so that a flow can still
-- map what it cancels); resources.deleted marks the current version, so
-- reads answer 410 Gone and listings skip the resource. A later write
-- stores a new live version and clears the mark. 0 is live, 1 deleted.
ALTER TABLE resources ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resource_versions ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
