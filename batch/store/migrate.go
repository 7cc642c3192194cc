package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
)

// migrationFS holds the store's own line of migrations ([StoreLine]): one
// directory per dialect, one file per version named NNNN_description.sql.
//
//go:embed migrations
var migrationFS embed.FS

// bootstrapSQL creates schema_migrations, before any line runs.
//
//go:embed schema_migrations.sql
var bootstrapSQL string

// linesVersion is the store migration that adds the line column to
// schema_migrations; before it, every recorded version is the store's.
const linesVersion = 3

func init() { RegisterMigrations(StoreLine, migrationFS, "migrations") }

// latestVersion is the newest version of the store's own line.
func latestVersion() int {
	for _, l := range registered() {
		if l.name == StoreLine {
			return l.latest()
		}
	}
	return 0
}

// migrate creates schema_migrations if needed, refuses a database where
// any registered line is newer than this binary, and applies the missing
// steps of every line, the store's first. It is safe to run from several
// processes at once: on PostgreSQL each step takes an advisory lock, on
// SQLite the immediate transaction holds the write lock, and each step
// re-checks whether it was applied meanwhile. Lines recorded in the
// database that this binary does not register are left alone.
func (s *Store) migrate(ctx context.Context) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return s.classify("creating schema_migrations", err)
		}
		for _, stmt := range splitStatements(bootstrapSQL) {
			if _, err := tx.tx.ExecContext(ctx, stmt); err != nil {
				return s.classify("creating schema_migrations", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ls := registered()
	current := make([]int, len(ls))
	for i, l := range ls {
		v, err := s.lineVersion(ctx, s.db, l.name)
		if err != nil {
			return err
		}
		if v > l.latest() {
			return fmt.Errorf("opening store: migration line %q is at version %d, binary knows up to %d: %w",
				l.name, v, l.latest(), ErrSchemaTooNew)
		}
		current[i] = v
	}
	for i, l := range ls {
		for _, m := range l.steps[s.dialect] {
			if m.version <= current[i] {
				continue
			}
			if err := s.apply(ctx, l.name, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasLines reports whether schema_migrations has its line column yet
// (store migration 0003).
func (s *Store) hasLines(ctx context.Context, q querier) (bool, error) {
	query := `SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'line'`
	if s.dialect == postgresDialect {
		query = `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'line'`
	}
	var n int
	if err := q.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return false, s.classify("reading the shape of schema_migrations", err)
	}
	return n > 0, nil
}

// lineVersion is the newest version of line recorded in the database, 0
// when none.
func (s *Store) lineVersion(ctx context.Context, q querier, name string) (int, error) {
	op := "reading the version of migration line " + name
	withLines, err := s.hasLines(ctx, q)
	if err != nil {
		return 0, err
	}
	var v sql.NullInt64
	switch {
	case withLines:
		err = q.QueryRowContext(ctx, s.rebind(`SELECT MAX(version) FROM schema_migrations WHERE line = ?`), name).Scan(&v)
	case name == StoreLine:
		err = q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	default:
		return 0, nil // before lines, only the store's versions were recorded
	}
	if err != nil {
		return 0, s.classify(op, err)
	}
	return int(v.Int64), nil
}

// migrationLockKey is the PostgreSQL advisory lock that serializes
// migrations ("fhirbrdg" in ASCII).
const migrationLockKey = 0x6668697262726467

// lockMigrations serializes migrating processes until tx ends: on
// PostgreSQL with an advisory lock (concurrent creations IF NOT EXISTS
// can otherwise fail on a unique index of the catalog); on SQLite the
// immediate transaction already holds the write lock.
func (s *Store) lockMigrations(ctx context.Context, tx *Tx) error {
	if s.dialect != postgresDialect {
		return nil
	}
	_, err := tx.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey))
	return err
}

// apply runs migration m of line name in its own transaction and records
// it, unless a concurrent process applied it meanwhile.
func (s *Store) apply(ctx context.Context, name string, m migration) error {
	op := fmt.Sprintf("applying migration %d of line %s", m.version, name)
	return s.InTx(ctx, func(tx *Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return s.classify(op, err)
		}
		v, err := s.lineVersion(ctx, tx, name)
		if err != nil {
			return err
		}
		if v >= m.version {
			return nil // applied by a concurrent process
		}
		for _, stmt := range splitStatements(m.sql) {
			if _, err := tx.tx.ExecContext(ctx, stmt); err != nil {
				return s.classify(op, err)
			}
		}
		withLines, err := s.hasLines(ctx, tx)
		if err != nil {
			return err
		}
		at := s.now().UTC().Format(sqliteTimeLayout)
		switch {
		case withLines:
			_, err = tx.tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (line, version, applied_at) VALUES (?, ?, ?)`),
				name, m.version, at)
		case name == StoreLine && m.version < linesVersion:
			_, err = tx.tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
				m.version, at)
		default:
			err = errors.New("schema_migrations has no line column")
		}
		return s.classify(op, err)
	})
}

// splitStatements splits a migration file on semicolons that end a line,
// dropping comment-only and empty statements. Migration files must not put
// such a semicolon inside a literal.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if stmt := strings.TrimSpace(cur.String()); stmt != ";" {
				out = append(out, stmt)
			}
			cur.Reset()
		}
	}
	if stmt := strings.TrimSpace(cur.String()); stmt != "" {
		out = append(out, stmt)
	}
	return out
}
