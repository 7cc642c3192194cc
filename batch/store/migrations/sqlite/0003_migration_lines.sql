-- 0003: migration lines. Each package that keeps tables in the store owns a
-- line of migrations with its own version sequence (see lines.go), so
-- schema_migrations records the line of each version. The versions applied
-- so far are the store's own. SQLite cannot change a primary key in place:
-- copy into a new table and swap.
CREATE TABLE schema_migrations_lines (
    line       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    applied_at TEXT    NOT NULL,
    PRIMARY KEY (line, version)
);
INSERT INTO schema_migrations_lines (line, version, applied_at)
    SELECT 'store', version, applied_at FROM schema_migrations;
DROP TABLE schema_migrations;
ALTER TABLE schema_migrations_lines RENAME TO schema_migrations;
