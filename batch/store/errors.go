package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

var (
	// ErrNotFound reports that the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a write contradicts a row already stored,
	// such as a vendor id already linked to another FHIR id.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable reports that the store cannot commit right now: disk
	// full, database read-only, write lock timeout or connection lost. The
	// HTTP layer answers 503 with Retry-After; nothing was committed.
	ErrUnavailable = errors.New("store unavailable")
	// ErrKeyReused reports a request key already stored for a request whose
	// body had a different canonical hash: the sender reused an identifier
	// (for example a message counter that was reset) for another request.
	ErrKeyReused = errors.New("request key reused for a different body")
	// ErrSchemaTooNew reports a database migrated by a newer fhirbridge.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrInvalidBody reports a resource body that is not a JSON object.
	ErrInvalidBody = errors.New("resource body is not a JSON object")
)

// dbError is a driver error with a message safe to log: it names the
// operation and the driver's error code, never the driver's text (which, for
// PostgreSQL, can quote stored values). Unwrap gives the driver error.
type dbError struct {
	op          string
	code        string
	unavailable bool
	err         error
}

// Error implements error.
func (e *dbError) Error() string {
	if e.unavailable {
		return e.op + ": " + ErrUnavailable.Error() + " (" + e.code + ")"
	}
	return e.op + ": database error (" + e.code + ")"
}

// Unwrap returns the driver error.
func (e *dbError) Unwrap() error { return e.err }

// Is makes an unavailable failure match ErrUnavailable.
func (e *dbError) Is(target error) bool { return e.unavailable && target == ErrUnavailable }

// SQLite primary result codes (sqlite3.h) that mean "cannot commit now".
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteProtocol = 15
)

// classify is [Classify]; a method for the store's own queries.
func (s *Store) classify(op string, err error) error { return Classify(op, err) }

// Classify wraps err, returned by a query on the store's database (through
// [Store.DB] or [Tx.SQL] too), with the action phrase op, and is the one
// place where driver errors are made safe to log. A driver error becomes an
// error whose text is op and the driver's code, never the driver's message
// (PostgreSQL's can quote stored values), that matches [ErrUnavailable]
// when the database cannot take the work now (disk full, read-only, lock
// timeout, connection lost) and unwraps to the driver error. Context
// errors and this package's sentinels pass through wrapped with %w, as does
// any other error (such as sql.ErrNoRows). Classify(op, nil) is nil.
func Classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrUnavailable) || errors.Is(err, ErrSchemaTooNew) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		primary := se.Code() & 0xff
		switch primary {
		case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteReadOnly, sqliteIOErr, sqliteFull, sqliteCantOpen, sqliteProtocol:
			return &dbError{op: op, code: fmt.Sprintf("sqlite %d", se.Code()), unavailable: true, err: err}
		}
		return &dbError{op: op, code: fmt.Sprintf("sqlite %d", se.Code()), err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &dbError{op: op, code: "SQLSTATE " + pe.Code, unavailable: pgUnavailable(pe.Code), err: err}
	}
	if connectionLost(err) {
		return &dbError{op: op, code: "connection lost", unavailable: true, err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// pgUnavailable reports SQLSTATEs that mean the server cannot take the
// write now: connection exceptions (08), insufficient resources such as
// disk full (53), operator intervention such as shutdown (57P), system and
// I/O errors (58), read-only transaction (25006), and lock or
// serialization aborts (40001, 40P01, 55P03) that a retry resolves.
func pgUnavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"),
		strings.HasPrefix(code, "57P"), strings.HasPrefix(code, "58"):
		return true
	}
	switch code {
	case "25006", "40001", "40P01", "55P03":
		return true
	}
	return false
}

// connectionLost reports transport failures between us and the server.
func connectionLost(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) ||
		errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err)
}
