package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFS holds the schema, one directory per dialect, one file per
// version named NNNN_description.sql. Versions are applied in order, each in
// its own transaction, and recorded in schema_migrations. Both dialects must
// carry the same versions.
//
//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded steps of dialect d in version order.
func migrations(d dialect) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s migrations: %w", d, err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("listing %s migrations: malformed file name %q", d, name)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading migration %d: %w", v, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// latestVersion is the newest schema version this binary knows.
func latestVersion(d dialect) int {
	ms, err := migrations(d)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate creates schema_migrations if needed, refuses a newer database and
// applies the missing steps. It is safe to run from several processes at
// once: on PostgreSQL each step takes an advisory lock, on SQLite the
// immediate transaction holds the write lock, and each step re-checks
// whether it was applied meanwhile.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL)`
	if _, err := s.db.ExecContext(ctx, create); err != nil {
		return s.classify("creating schema_migrations", err)
	}
	var current sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return s.classify("reading schema version", err)
	}
	if latest := ms[len(ms)-1].version; int(current.Int64) > latest {
		return fmt.Errorf("opening store: schema version %d, binary knows up to %d: %w",
			current.Int64, latest, ErrSchemaTooNew)
	}
	for _, m := range ms {
		if int64(m.version) <= current.Int64 {
			continue
		}
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// migrationLockKey is the PostgreSQL advisory lock that serializes
// migrations ("fhirbrdg" in ASCII).
const migrationLockKey = 0x6668697262726467

// apply runs one migration in its own transaction.
func (s *Store) apply(ctx context.Context, m migration) error {
	op := fmt.Sprintf("applying migration %d", m.version)
	return s.InTx(ctx, func(tx *Tx) error {
		if s.dialect == postgresDialect {
			if _, err := tx.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
				return s.classify(op, err)
			}
		}
		var n int
		err := tx.tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n)
		if err != nil {
			return s.classify(op, err)
		}
		if n > 0 {
			return nil // applied by a concurrent process
		}
		for _, stmt := range splitStatements(m.sql) {
			if _, err := tx.tx.ExecContext(ctx, stmt); err != nil {
				return s.classify(op, err)
			}
		}
		_, err = tx.tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
			m.version, s.now().UTC().Format(sqliteTimeLayout))
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
