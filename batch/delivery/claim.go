package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
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
	requestID string // of the request that enqueued it, "" when none
	// trace is the traceparent stored by Enqueue ("" when none)
	trace sql.NullString
	// elapsed and statusCode are this attempt's: how long the vendor took
	// and its HTTP status when the error says (for the message log)
	elapsed    time.Duration
	statusCode int
}

// claim leases the due jobs of vendor's flows, as many as vendor has free
// slots here and, across every runner on the store, its concurrency and
// rate and each flow's concurrency and rate leave (see limits.go). A job
// is due when it is pending and its time has come, or in flight with an
// expired lease (its worker died, or its node was reaped), and no earlier
// version of the same resource in the same flow is still pending or in
// flight.
// Claiming counts an attempt, so that a job re-claimed after a crash is
// never Fresh, and names this runner the job's owner.
func (r *Runner) claim(ctx context.Context, vendor string) ([]claimed, error) {
	n := r.slots(vendor)
	if n == 0 {
		return nil, nil
	}
	flows := r.dests[vendor]
	lim := r.limit(vendor)
	var out []claimed
	var throttled map[string]bool // the reasons jobs were held back
	var refill time.Duration
	err := r.inTx(ctx, func(tx *store.Tx) error {
		out, throttled, refill = out[:0], map[string]bool{}, 0
		if err := lockVendor(ctx, tx, vendor); err != nil {
			return err
		}
		// the time is read under the lock: a claim that waited for it
		// must not count the rate buckets from before the claims it
		// waited for
		clock := r.opt.Clock()
		now := micros(clock)
		busy, err := held(ctx, tx.SQL(), tx.Rebind, flows, now)
		if err != nil {
			return err
		}
		total := 0
		for _, k := range busy {
			total += k
		}
		// k is what the vendor's limits leave; n what this runner's
		// slots do.
		k := min(n, max(lim.Concurrency-total, 0))
		capReason := throttledConcurrency
		var b bucket
		if lim.Rate.N > 0 {
			if b, err = readBucket(ctx, tx, vendorBuckets, vendor, lim, clock); err != nil {
				return err
			}
			if w := b.whole(); w < k {
				k, capReason = w, throttledRate
			}
		}
		// Due pending jobs and in-flight jobs whose lease expired are read
		// by two queries, each ordered by run_at, id and merged here: with
		// a single state per query the (state, run_at) index yields rows in
		// order, so the database stops after enough claimable rows instead
		// of checking and sorting every due job of the queue. Flows with
		// limits of their own (concurrency, rate) are read apart, each up
		// to what its limits leave (and one more, to tell a throttled
		// flow). One row beyond k is read to tell a throttled claim from
		// an idle one.
		var cands []candidate
		room := map[string]int{}      // what a limited flow's limits leave
		roomBy := map[string]string{} // the flow's limit that leaves least
		fbs := map[string]bucket{}    // rate-limited flows' buckets
		taken := map[string]int{}     // jobs claimed by flow
		rateHeld := map[string]bool{} // flows whose empty bucket held a job back
		var free []string
		for _, f := range flows {
			fl := r.opt.Flows[f]
			if fl.Concurrency <= 0 && fl.Rate.N <= 0 {
				free = append(free, f)
				continue
			}
			left, by := math.MaxInt, ""
			if fl.Concurrency > 0 {
				left, by = max(fl.Concurrency-busy[f], 0), throttledFlowConcurrency
			}
			if fl.Rate.N > 0 {
				fb, err := readBucket(ctx, tx, flowBuckets, f, fl, clock)
				if err != nil {
					return err
				}
				fbs[f] = fb
				if w := fb.whole(); w < left {
					left, by = w, throttledFlowRate
				}
			}
			room[f], roomBy[f] = left, by
			c, err := r.claimableBoth(ctx, tx, []string{f}, now, min(k, left)+1)
			if err != nil {
				return err
			}
			cands = append(cands, c...)
		}
		if len(free) > 0 {
			c, err := r.claimableBoth(ctx, tx, free, now, k+1)
			if err != nil {
				return err
			}
			cands = append(cands, c...)
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].before(cands[j]) })
		for _, c := range cands {
			if left, limited := room[c.Flow]; limited && left == 0 {
				throttled[roomBy[c.Flow]] = true
				if roomBy[c.Flow] == throttledFlowRate {
					rateHeld[c.Flow] = true
				}
				continue
			}
			if len(out) == k {
				if k < n { // a limit, not this runner's slots, held it back
					throttled[capReason] = true
				}
				break
			}
			if _, limited := room[c.Flow]; limited {
				room[c.Flow]--
			}
			taken[c.Flow]++
			out = append(out, c.claimed)
		}
		// every bucket read is stored, debited by what was claimed of it;
		// a bucket that held jobs back wakes the runner when it holds a
		// token again
		wake := func(d time.Duration) {
			if refill == 0 || d < refill {
				refill = d
			}
		}
		if lim.Rate.N > 0 {
			if err := b.take(ctx, tx, len(out)); err != nil {
				return err
			}
			if throttled[throttledRate] {
				wake(b.untilNext(len(out)))
			}
		}
		for _, f := range sortedKeys(fbs) {
			if err := fbs[f].take(ctx, tx, taken[f]); err != nil {
				return err
			}
			if rateHeld[f] {
				wake(fbs[f].untilNext(taken[f]))
			}
		}
		lease := micros(clock.Add(r.opt.Lease))
		for i := range out {
			out[i].attempts++
			if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE delivery_jobs
				SET state = ?, attempts = ?, lease_until = ?, owner = ?, updated_at = ? WHERE id = ?`),
				StateInFlight, out[i].attempts, lease, r.opt.Owner, now, out[i].id); err != nil {
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
	for _, reason := range sortedKeys(throttled) {
		r.metrics.limits.throttled.WithLabelValues(vendor, reason).Inc()
	}
	if refill > 0 {
		// wake when the bucket holds a token again rather than at the
		// next poll
		time.AfterFunc(refill, func() { r.poke("rate") })
	}
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

// claimableBoth reads up to n due pending jobs and up to n in-flight jobs
// with an expired lease of flows.
func (r *Runner) claimableBoth(ctx context.Context, tx *store.Tx, flows []string, now int64, n int) ([]candidate, error) {
	pending, err := r.claimable(ctx, tx, flows, `state = ? AND run_at <= ?`, StatePending, now, n)
	if err != nil {
		return nil, err
	}
	expired, err := r.claimable(ctx, tx, flows, `state = ? AND lease_until <= ?`, StateInFlight, now, n)
	if err != nil {
		return nil, err
	}
	return append(pending, expired...), nil
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
	q := `SELECT id, flow, resource_type, resource_id, version, data, attempts, retry_base, run_at, created_at, request_id, traceparent FROM delivery_jobs j
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
		if err := rows.Scan(&c.id, &c.Flow, &c.ResourceType, &c.ResourceID, &c.Version, &c.data, &c.attempts, &c.retryBase, &c.runAt, &c.createdAt, &c.requestID, &c.trace); err != nil {
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

// setState moves a held job to state, in tx when given (else in a
// transaction of its own). Only the holder
// may do it: the update is guarded on the job being in flight, owned by
// this runner and still at the attempt this claim counted (each claim
// counts one, so this names the claim: a node that was counted dead,
// joined again and re-claimed the job cannot record the earlier claim's
// outcome). A runner whose job another runner now holds, or has
// finished, changes nothing: setState then returns an error wrapping
// errLost, which also rolls back tx.
func (r *Runner) setState(ctx context.Context, tx *store.Tx, c claimed, state State, attempts int, runAt time.Time, reason string) error {
	if tx == nil {
		// through the store's transactions: on SQLite they go through its
		// one writer, which a write beside it would wait for (and, with
		// busy claims, time out on)
		return r.st.InTx(ctx, func(tx *store.Tx) error { return r.setState(ctx, tx, c, state, attempts, runAt, reason) })
	}
	now := micros(r.opt.Clock())
	q := r.st.Rebind(`UPDATE delivery_jobs SET state = ?, attempts = ?, run_at = ?, lease_until = 0, owner = '',
		last_error = ?, updated_at = ? WHERE id = ? AND state = ? AND owner = ? AND attempts = ?`)
	args := []any{state, attempts, micros(runAt), reason, now, c.id, StateInFlight, r.opt.Owner, c.attempts}
	res, err := tx.SQL().ExecContext(ctx, q, args...)
	op := fmt.Sprintf("setting delivery job %d %s", c.id, state)
	if err != nil {
		return store.Classify(op, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return store.Classify(op, err)
	}
	if k == 0 {
		r.metrics.lost.Inc()
		return fmt.Errorf("%s: %w", op, errLost)
	}
	return nil
}
