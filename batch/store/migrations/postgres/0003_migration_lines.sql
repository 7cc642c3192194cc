-- 0003: migration lines. Each package that keeps tables in the store owns a
-- line of migrations with its own version sequence (see lines.go), so
-- schema_migrations records the line of each version. The versions applied
-- so far are the store's own.
ALTER TABLE schema_migrations ADD COLUMN line TEXT NOT NULL DEFAULT 'store';
ALTER TABLE schema_migrations ALTER COLUMN line DROP DEFAULT;
ALTER TABLE schema_migrations DROP CONSTRAINT schema_migrations_pkey;
ALTER TABLE schema_migrations ADD PRIMARY KEY (line, version);
