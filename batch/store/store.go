// Package store is fhirbridge's durable store: FHIR resources with their
// version history, the identifier index behind conditional create, the
// search index of the FHIR endpoint (index.go), the crosswalk of FHIR ids
// to vendor ids, inbound request idempotency and the message log.
//
// It is a thin layer over database/sql with two dialects that behave the
// same: embedded SQLite (the default, pure Go via modernc.org/sqlite, WAL
// journal with synchronous=FULL) and PostgreSQL (pgx, synchronous_commit=on).
// Every write happens inside [Store.InTx], which returns only after COMMIT
// succeeded, so a caller may acknowledge what it wrote as soon as InTx
// returns nil.
//
// Errors carry only types, our own ids and counts, never patient values.
// Branch on them with errors.Is against [ErrNotFound], [ErrConflict],
// [ErrUnavailable] and [ErrSchemaTooNew].
//
// The schema is versioned in migration lines (see lines.go): the store's
// own tables are one line, and each package that keeps tables in the
// store's database (the delivery queue, the file ledger, …) registers its
// own with [RegisterMigrations]; [Open] brings every line up to date.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // also registers the "sqlite" driver
)

// dialect names the SQL flavour a Store speaks.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// String returns the dialect name used in errors.
func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// Store is a handle on the durable store. It is safe for concurrent use;
// Close it when done.
type Store struct {
	db      *sql.DB
	dialect dialect
	now     func() time.Time
	// stmts holds the hot queries prepared on db, keyed by their text
	// before rebinding; filled once by Open, read-only afterwards.
	stmts map[string]*sql.Stmt

	// On SQLite, the group-commit writer (see group.go): InTx sends to
	// writes; Close closes closing and waits for writerDone.
	writes     chan *writeReq
	closing    chan struct{}
	writerDone chan struct{}
	// checkpointDone is closed when the checkpointer has stopped (see
	// checkpoint.go).
	checkpointDone chan struct{}
	group          groupStats
	closeOnce      sync.Once // Close may be called twice

	// path is the SQLite database file ("" on PostgreSQL); lock the
	// serving lock on it when taken (see LockServing).
	path string
	lock *os.File
}

// sqliteBusyTimeout is how long a SQLite writer waits for the write lock
// before the attempt fails with ErrUnavailable.
const sqliteBusyTimeout = 10 * time.Second

// Open connects to the store at url and brings its schema up to date.
//
// A url starting with postgres:// or postgresql:// selects PostgreSQL (the
// session runs with synchronous_commit=on and TimeZone=UTC). Anything else
// selects SQLite: "sqlite:///path/to/fhirbridge.db", "sqlite://relative.db"
// or a plain file path; the file is created if missing and opened with WAL,
// synchronous=FULL, a busy timeout and foreign keys on.
//
// Open applies the missing migrations of every registered line (see
// [RegisterMigrations]), the store's own first, and refuses a database
// where any line is at a version newer than this binary knows
// ([ErrSchemaTooNew]). Failures to reach or write the database match
// [ErrUnavailable].
func Open(ctx context.Context, url string) (*Store, error) {
	s := &Store{now: time.Now}
	var err error
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s.dialect = postgresDialect
		s.db, err = openPostgres(url)
	default:
		s.dialect = sqliteDialect
		s.path = strings.TrimPrefix(url, "sqlite://")
		s.db, err = openSQLite(url)
	}
	if err != nil {
		return nil, err
	}
	if err := s.ping(ctx); err != nil {
		s.db.Close()
		return nil, s.classify("connecting to "+s.dialect.String()+" store", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	s.prepare(ctx)
	if err := s.indexPending(ctx); err != nil {
		s.closeStmts()
		s.db.Close()
		return nil, err
	}
	if s.dialect == sqliteDialect {
		s.startWriter()
	}
	return s, nil
}

// ping opens the first connection. On SQLite, connecting runs the
// journal_mode(WAL) pragma, which on a fresh file answers SQLITE_BUSY
// without waiting on the busy handler while another process converts the
// same file; ping retries that for up to the busy timeout.
func (s *Store) ping(ctx context.Context) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	wait := 5 * time.Millisecond
	for {
		err := s.db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || s.dialect != sqliteDialect || !errors.As(err, &se) ||
			se.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// pgIdleConns is how many idle PostgreSQL connections a store keeps.
const pgIdleConns = 32

// openPostgres builds a database/sql handle on pgx with durable-commit
// session settings.
func openPostgres(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The parse error may echo the URL, which can hold a password.
		return nil, fmt.Errorf("parsing postgres store url: invalid connection string")
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["timezone"] = "UTC"
	db := stdlib.OpenDB(*cfg)
	// database/sql keeps 2 idle connections by default: with more
	// concurrent requests, every transaction beyond two opened a new
	// PostgreSQL backend (a process) and closed it again. Keep enough idle
	// for the endpoint's concurrency.
	db.SetMaxIdleConns(pgIdleConns)
	return db, nil
}

// openSQLite builds a database/sql handle on a SQLite file.
func openSQLite(url string) (*sql.DB, error) {
	path := strings.TrimPrefix(url, "sqlite://")
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening sqlite store: path must be non-empty and contain no '?' or '#'")
	}
	dsn := "file:" + path +
		"?_pragma=busy_timeout(" + strconv.Itoa(int(sqliteBusyTimeout/time.Millisecond)) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)" +
		// Savepoints (one per group-commit member) journal the pages they
		// change for ROLLBACK TO; in memory rather than in a temporary file,
		// that costs no write system calls. Durability is the WAL's alone.
		"&_pragma=temp_store(MEMORY)" +
		// The store's checkpointer checkpoints beside the writer
		// (checkpoint.go), not the writer inside COMMIT.
		"&_pragma=wal_autocheckpoint(0)" +
		"&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening sqlite store: %w", err)
	}
	return db, nil
}

// Close releases the store's connections. Committed data is already durable.
func (s *Store) Close() error {
	defer s.unlockServing()
	s.stopWriter()
	s.closeStmts()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

// rebind rewrites '?' placeholders to the dialect's form ($1, $2, … for
// PostgreSQL). Queries in this package never hold a literal '?'.
func (s *Store) rebind(query string) string {
	if s.dialect != postgresDialect {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// forUpdate is the row-locking suffix for a SELECT inside a transaction.
// SQLite needs none: its transactions take the write lock at BEGIN.
func (s *Store) forUpdate() string {
	if s.dialect == postgresDialect {
		return " FOR UPDATE"
	}
	return ""
}

// sqliteTimeLayout is fixed-width so that text comparison orders instants.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// ts converts an instant to the value stored in a timestamp column (UTC,
// microsecond precision on both dialects).
func (s *Store) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.dialect == postgresDialect {
		return t
	}
	return t.Format(sqliteTimeLayout)
}

// timeCol scans a timestamp column from either dialect into a UTC time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*c.t = x.UTC()
	case string:
		return c.parse(x)
	case []byte:
		return c.parse(string(x))
	default:
		return fmt.Errorf("scanning timestamp: unexpected %T", v)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		return fmt.Errorf("scanning timestamp: malformed stored value")
	}
	*c.t = t.UTC()
	return nil
}
