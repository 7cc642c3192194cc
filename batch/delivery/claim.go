package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// claimed is a job a worker holds.
type claimed struct {
	Job
	id        int64
	attempts  int // after this claim's increment
	retryBase int
	createdAt int64  // when the job was enqueued, µs since the epoch
	data      string // a worker job's data (see WorkJob)
}

// claim leases the due jobs of vendor's flows, as many as vendor has free
// slots. A job is due when it is pending and its time has come, or in
// flight with an expired lease (its worker died), and no earlier version
// of the same resource in the same flow is still pending or in flight.
// Claiming counts an attempt, so that a job re-claimed after a crash is
// never Fresh.
func (r *Runner) claim(ctx context.Context, vendor string) ([]claimed, error) {
	n := r.slots(vendor)
	if n == 0 {
		return nil, nil
	}
	flows := r.dests[vendor]
	now := micros(r.opt.Clock())
	var out []claimed
	err := r.inTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		// Due pending jobs and in-flight jobs whose lease expired are read
		// by two queries, each ordered by run_at, id and merged here: with
		// a single state per query the (state, run_at) index yields rows in
		// order, so the database stops after n claimable rows instead of
		// checking and sorting every due job of the queue. The merge gives
		// the same rows as one query over both states.
		pending, err := r.claimable(ctx, tx, flows, `state = ? AND run_at <= ?`, StatePending, now, n)
		if err != nil {
			return err
		}
		expired, err := r.claimable(ctx, tx, flows, `state = ? AND lease_until <= ?`, StateInFlight, now, n)
		if err != nil {
			return err
		}
		for len(out) < n && (len(pending) > 0 || len(expired) > 0) {
			if len(expired) == 0 || (len(pending) > 0 && pending[0].before(expired[0])) {
				out = append(out, pending[0].claimed)
				pending = pending[1:]
			} else {
				out = append(out, expired[0].claimed)
				expired = expired[1:]
			}
		}
		lease := micros(r.opt.Clock().Add(r.opt.Lease))
		for i := range out {
			out[i].attempts++
			if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE delivery_jobs
				SET state = ?, attempts = ?, lease_until = ?, updated_at = ? WHERE id = ?`),
				StateInFlight, out[i].attempts, lease, now, out[i].id); err != nil {
				return store.Classify("marking delivery jobs in flight", err)
			}
		}
		return nil
	})
	if err != nil {
		// Nothing was claimed, whatever out holds: the transaction that
		// marked those jobs in flight did not commit (failed statement,
		// COMMIT refused on a full disk, failover, SQLITE_BUSY). Every
		// reserved slot goes back, or the vendor's workers shrink for good.
		r.unreserve(vendor, n)
		return nil, fmt.Errorf("claiming %s delivery jobs: %w", vendor, err)
	}
	r.unreserve(vendor, n-len(out))
	r.progressed(vendor)
	return out, nil
}

// candidate is a claimable job with its sort key.
type candidate struct {
	claimed
	runAt int64
}

// before reports whether c sorts before d (ORDER BY run_at, id).
func (c candidate) before(d candidate) bool {
	return c.runAt < d.runAt || (c.runAt == d.runAt && c.id < d.id)
}

// claimable reads up to n jobs of flows matching cond (with its two
// arguments state and at) whose earlier versions in the same flow are
// neither pending nor in flight, ordered by run_at, id.
func (r *Runner) claimable(ctx context.Context, tx *store.Tx, flows []string, cond string, state State, at int64, n int) ([]candidate, error) {
	args := make([]any, 0, len(flows)+5)
	for _, f := range flows {
		args = append(args, f)
	}
	args = append(args, state, at, StatePending, StateInFlight, n)
	q := `SELECT id, flow, resource_type, resource_id, version, data, attempts, retry_base, run_at, created_at FROM delivery_jobs j
		WHERE flow IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(flows)), ", ") + `)
		  AND ` + cond + `
		  AND NOT EXISTS (SELECT 1 FROM delivery_jobs p
		      WHERE p.resource_type = j.resource_type AND p.resource_id = j.resource_id
		        AND p.flow = j.flow AND p.version < j.version AND p.state IN (?, ?))
		ORDER BY run_at, id LIMIT ?` + tx.SkipLocked()
	rows, err := tx.SQL().QueryContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return nil, store.Classify("reading claimable delivery jobs", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.Flow, &c.ResourceType, &c.ResourceID, &c.Version, &c.data, &c.attempts, &c.retryBase, &c.runAt, &c.createdAt); err != nil {
			return nil, store.Classify("reading claimable delivery jobs", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("reading claimable delivery jobs", err)
	}
	return out, nil
}

// reschedule puts a held job back to pending, due at runAt, with reason.
// uncount gives back the attempt its claim counted (a job that waited for
// its parent never reached the connector).
func (r *Runner) reschedule(ctx context.Context, c claimed, runAt time.Time, reason string, uncount bool) error {
	attempts := c.attempts
	if uncount {
		attempts--
	}
	return r.setState(ctx, nil, c, StatePending, attempts, runAt, reason)
}

// setState moves a held job to state, in tx when given. Only the holder
// may do it: the update is guarded on the job still being in flight.
func (r *Runner) setState(ctx context.Context, tx *store.Tx, c claimed, state State, attempts int, runAt time.Time, reason string) error {
	now := micros(r.opt.Clock())
	q := r.st.Rebind(`UPDATE delivery_jobs SET state = ?, attempts = ?, run_at = ?, lease_until = 0,
		last_error = ?, updated_at = ? WHERE id = ? AND state = ?`)
	args := []any{state, attempts, micros(runAt), reason, now, c.id, StateInFlight}
	var err error
	if tx != nil {
		_, err = tx.SQL().ExecContext(ctx, q, args...)
	} else {
		_, err = r.st.DB().ExecContext(ctx, q, args...)
	}
	if err != nil {
		return store.Classify(fmt.Sprintf("setting delivery job %d %s", c.id, state), err)
	}
	return nil
}
