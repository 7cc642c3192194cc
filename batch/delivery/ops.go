package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// JobInfo describes a job for operators. It holds ids, states and
// classified reasons only, never patient values.
type JobInfo struct {
	ID                       int64
	Flow                     string
	ResourceType, ResourceID string
	Version                  int
	State                    State
	// Attempts counts the hand-overs to the connector, all rounds included.
	Attempts int
	// RunAt is when a pending job is next due.
	RunAt time.Time
	// LastError is the last classified failure or wait reason ("" if none).
	LastError            string
	CreatedAt, UpdatedAt time.Time
	// Data is a worker job's data (see WorkJob), nil for a resource's job.
	Data []byte
}

// Filter selects jobs; zero fields match everything.
type Filter struct {
	// State and Flow match exactly.
	State State
	Flow  string
	// Limit caps the result (0: no cap). Jobs come in id order.
	Limit int
}

// Queue operates the delivery jobs of a store: listing, showing, retrying
// and discarding (the `fhirbridge deliveries` commands). It is safe for
// concurrent use, also alongside a Runner.
type Queue struct {
	st *store.Store
}

// NewQueue returns the operations on st's queue.
func NewQueue(st *store.Store) *Queue { return &Queue{st: st} }

const jobCols = `id, flow, resource_type, resource_id, version, state, attempts, run_at, last_error, created_at, updated_at, data`

type scanner interface{ Scan(dest ...any) error }

func scanJob(r scanner) (JobInfo, error) {
	var j JobInfo
	var runAt, created, updated int64
	var data string
	err := r.Scan(&j.ID, &j.Flow, &j.ResourceType, &j.ResourceID, &j.Version, &j.State, &j.Attempts,
		&runAt, &j.LastError, &created, &updated, &data)
	if data != "" {
		j.Data = []byte(data)
	}
	j.RunAt, j.CreatedAt, j.UpdatedAt = time.UnixMicro(runAt).UTC(), time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return j, err
}

// List returns the jobs matching f in id order.
func (q *Queue) List(ctx context.Context, f Filter) ([]JobInfo, error) {
	var where []string
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.Flow != "" {
		where, args = append(where, "flow = ?"), append(args, f.Flow)
	}
	query := `SELECT ` + jobCols + ` FROM delivery_jobs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return q.jobs(ctx, query, args...)
}

// jobs runs query, which selects jobCols, and returns its jobs.
func (q *Queue) jobs(ctx context.Context, query string, args ...any) ([]JobInfo, error) {
	rows, err := q.st.DB().QueryContext(ctx, q.st.Rebind(query), args...)
	if err != nil {
		return nil, store.Classify("listing delivery jobs", err)
	}
	defer rows.Close()
	var out []JobInfo
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, store.Classify("listing delivery jobs", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("listing delivery jobs", err)
	}
	return out, nil
}

// Show returns job id, or [ErrNotFound].
func (q *Queue) Show(ctx context.Context, id int64) (JobInfo, error) {
	row := q.st.DB().QueryRowContext(ctx, q.st.Rebind(`SELECT `+jobCols+` FROM delivery_jobs WHERE id = ?`), id)
	j, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return JobInfo{}, fmt.Errorf("showing delivery job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return JobInfo{}, store.Classify(fmt.Sprintf("showing delivery job %d", id), err)
	}
	return j, nil
}

// Retry makes a dead-lettered (or discarded, or waiting) job due now with
// a fresh round of attempts. The job is not Fresh again: an earlier attempt
// may have reached the vendor. A delivered or in-flight job is [ErrState].
func (q *Queue) Retry(ctx context.Context, id int64) error {
	now := micros(time.Now())
	return q.transition(ctx, "retrying", id,
		`UPDATE delivery_jobs SET state = ?, retry_base = attempts, run_at = ?, updated_at = ?
		 WHERE id = ? AND state IN (?, ?, ?)`,
		StatePending, now, now, id, StateDeadLetter, StateDiscarded, StatePending)
}

// Discard gives job id up: it will not be delivered. Only a pending or
// dead-lettered job can be discarded ([ErrState] otherwise).
func (q *Queue) Discard(ctx context.Context, id int64) error {
	now := micros(time.Now())
	return q.transition(ctx, "discarding", id,
		`UPDATE delivery_jobs SET state = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)`,
		StateDiscarded, now, id, StatePending, StateDeadLetter)
}

// transition runs a guarded state change and tells a missing job from a
// job in the wrong state.
func (q *Queue) transition(ctx context.Context, verb string, id int64, query string, args ...any) error {
	op := fmt.Sprintf("%s delivery job %d", verb, id)
	res, err := q.st.DB().ExecContext(ctx, q.st.Rebind(query), args...)
	if err != nil {
		return store.Classify(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Classify(op, err)
	} else if n == 1 {
		return nil
	}
	j, err := q.Show(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: job is %s: %w", op, j.State, ErrState)
}
