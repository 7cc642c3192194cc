// Package ledger is the file ledger: one row per file fhirbridge wrote
// (exports) or read (inbound cancellation files, reports), with its size,
// SHA-256, rows applied and refused and the outcome. Inbound processing
// records a file in the same store transaction that applies its rows, so
// a file is processed exactly once across restarts, and the same content
// arriving again under another name is recognised by its hash.
//
// The ledger holds paths, hashes, counts and outcome codes, never file
// contents or patient values.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Direction tells exports from imports.
type Direction string

// The directions.
const (
	Out Direction = "out" // a file fhirbridge wrote
	In  Direction = "in"  // a file fhirbridge read
)

// Outcomes of a ledger entry.
const (
	OutcomeOK        = "ok"        // every row applied, or the export uploaded
	OutcomePartial   = "partial"   // some rows refused (file moved to error/)
	OutcomeFailed    = "failed"    // nothing applied or uploaded
	OutcomeDuplicate = "duplicate" // same content as an earlier inbound file
	// OutcomeInProgress marks an inbound file applied in part: Line is
	// the checkpoint, the last physical line applied.
	OutcomeInProgress = "in_progress"
)

// Entry is one file in the ledger.
type Entry struct {
	ID        int64
	Direction Direction
	// Job names the configured job that handled the file, e.g.
	// "tuotempo-export" or "tuotempo-cancellations".
	Job string
	// Path is the file's name on its remote, relative to the remote's base.
	Path   string
	Size   int64
	SHA256 string // hex
	// RowsOK and RowsFailed count data rows applied (or written) and refused.
	RowsOK, RowsFailed int
	Outcome            string
	// Detail is a short reason or summary without patient values
	// ("3 rows refused: lines 4, 9, 12").
	Detail string
	At     time.Time // when the entry was recorded (UTC)
	// Generation tells apart deliberate re-runs of one inbound file (0
	// for the first; see NextGeneration): the ledger holds one entry per
	// job, path, size, hash and generation of direction in.
	Generation int64
	// Line is the last physical line applied while Outcome is
	// OutcomeInProgress (0 otherwise), and State what the processing
	// carries on with when it resumes there (the caller's encoding, with
	// no patient values).
	Line  int
	State string
}

// ErrNotFound is returned by lookups that find no entry.
var ErrNotFound = errors.New("no such ledger entry")

// ErrRecorded is returned by Record for an inbound file whose processing
// (job, path, size, hash and generation) is recorded already, by this
// process or another one sharing the store.
var ErrRecorded = errors.New("inbound file already recorded")

// Record adds e inside the caller's transaction and returns its id; e.At
// zero means now. An inbound file with a hash is recorded once per
// generation, whatever its outcome (a duplicate too): a second Record of
// it returns ErrRecorded (roll the transaction back: the file is another
// process's). Callers read [NextGeneration] before deciding, in the same
// transaction, so a racing process either shows in their reads or
// collides on the key.
func Record(ctx context.Context, tx *store.Tx, e Entry) (int64, error) {
	if e.Direction != In && e.Direction != Out || e.Job == "" || e.Path == "" {
		return 0, fmt.Errorf("recording file in ledger: direction, job and path are required")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var id int64
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`INSERT INTO file_ledger
		(direction, job, path, size, sha256, rows_ok, rows_failed, outcome, detail, at, generation, line, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`),
		string(e.Direction), e.Job, e.Path, e.Size, e.SHA256, e.RowsOK, e.RowsFailed, e.Outcome, e.Detail, e.At.UnixMicro(),
		e.Generation, e.Line, e.State).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("recording %s in ledger: %w", e.Path, ErrRecorded)
	}
	if err != nil {
		return 0, store.Classify(fmt.Sprintf("recording %s in ledger", e.Path), err)
	}
	return id, nil
}

// Update rewrites the progress of the entry e.ID inside the caller's
// transaction: counts, outcome, detail, checkpoint and time (e.At zero
// means now). Its identity (direction, job, path, size, hash,
// generation) stays. It updates only while the entry's checkpoint is
// still fromLine, so that of two processes carrying on from one
// checkpoint only the first records; the other gets ErrRecorded.
func Update(ctx context.Context, tx *store.Tx, e Entry, fromLine int) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE file_ledger SET rows_ok = ?, rows_failed = ?, outcome = ?,
		detail = ?, at = ?, line = ?, state = ? WHERE id = ? AND line = ? AND outcome = ?`),
		e.RowsOK, e.RowsFailed, e.Outcome, e.Detail, e.At.UnixMicro(), e.Line, e.State, e.ID, fromLine, OutcomeInProgress)
	if err != nil {
		return store.Classify(fmt.Sprintf("updating ledger entry %d", e.ID), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Classify(fmt.Sprintf("updating ledger entry %d", e.ID), err)
	} else if n != 1 {
		return fmt.Errorf("updating ledger entry %d: %w", e.ID, ErrRecorded)
	}
	return nil
}

// NextGeneration returns the generation a deliberate re-run of an
// inbound file (job, path, size, hash) records: one more than the
// latest recorded, 0 for a file never recorded.
func NextGeneration(ctx context.Context, tx *store.Tx, job, path string, size int64, sha256 string) (int64, error) {
	var g sql.NullInt64
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT MAX(generation) FROM file_ledger
		WHERE direction = ? AND job = ? AND path = ? AND size = ? AND sha256 = ?`), string(In), job, path, size, sha256).Scan(&g)
	if err != nil {
		return 0, store.Classify(fmt.Sprintf("reading the generations of %s", path), err)
	}
	if !g.Valid {
		return 0, nil
	}
	return g.Int64 + 1, nil
}

// ByHash returns the earliest entry of job and direction whose content
// hash is sha256 and whose outcome is not failed (content that was
// processed), or ErrNotFound.
func ByHash(ctx context.Context, tx *store.Tx, dir Direction, job, sha256 string) (Entry, error) {
	return one(ctx, tx, `direction = ? AND job = ? AND sha256 = ? AND outcome <> ?`,
		string(dir), job, sha256, OutcomeFailed)
}

// ByPath returns the latest entry of job and direction for path, or
// ErrNotFound.
func ByPath(ctx context.Context, tx *store.Tx, dir Direction, job, path string) (Entry, error) {
	return one(ctx, tx, `direction = ? AND job = ? AND path = ? ORDER BY id DESC`,
		string(dir), job, path)
}

// Filter selects entries for List; zero fields select everything.
type Filter struct {
	Direction Direction
	Job       string
	// Before keeps entries with an id below it: the key of the next page
	// (the last id of the page before); 0 starts at the newest.
	Before int64
	Limit  int // newest first; 0 means 100
}

// List returns entries, newest first.
func List(ctx context.Context, st *store.Store, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	if f.Direction != "" {
		where = append(where, "direction = ?")
		args = append(args, string(f.Direction))
	}
	if f.Job != "" {
		where = append(where, "job = ?")
		args = append(args, f.Job)
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	q := `SELECT ` + columns + ` FROM file_ledger`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := st.DB().QueryContext(ctx, st.Rebind(q), args...)
	if err != nil {
		return nil, store.Classify("listing file ledger", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, store.Classify("listing file ledger", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("listing file ledger", err)
	}
	return out, nil
}

const columns = `id, direction, job, path, size, sha256, rows_ok, rows_failed, outcome, detail, at, generation, line, state`

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (Entry, error) {
	var e Entry
	var dir string
	var at int64
	err := r.Scan(&e.ID, &dir, &e.Job, &e.Path, &e.Size, &e.SHA256, &e.RowsOK, &e.RowsFailed, &e.Outcome, &e.Detail, &at, &e.Generation, &e.Line, &e.State)
	e.Direction = Direction(dir)
	e.At = time.UnixMicro(at).UTC()
	return e, err
}

func one(ctx context.Context, tx *store.Tx, cond string, args ...any) (Entry, error) {
	q := `SELECT ` + columns + ` FROM file_ledger WHERE ` + cond
	if !strings.Contains(cond, "ORDER BY") {
		q += " ORDER BY id"
	}
	q += " LIMIT 1"
	e, err := scan(tx.SQL().QueryRowContext(ctx, tx.Rebind(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, store.Classify("reading file ledger", err)
	}
	return e, nil
}

// Get returns entry id, or ErrNotFound.
func Get(ctx context.Context, st *store.Store, id int64) (Entry, error) {
	e, err := scan(st.DB().QueryRowContext(ctx, st.Rebind(`SELECT `+columns+` FROM file_ledger WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("ledger entry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Entry{}, store.Classify(fmt.Sprintf("reading ledger entry %d", id), err)
	}
	return e, nil
}
