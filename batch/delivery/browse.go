package delivery

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Operator views of the queue beyond the CLI's list: a keyset-paged,
// filtered list (newest first), the bulk retry of the dead letters a
// filter selects, and the per-flow counts of the console's dashboard.

// MaxPage bounds Query.Limit.
const MaxPage = 500

// Query selects jobs for an operator's page. Zero fields match everything.
type Query struct {
	// Flows keeps the jobs of any of these flows (all when empty): one
	// flow, or the flows of one vendor.
	Flows []string
	// State matches exactly.
	State State
	// Since and Until bound the time of the job's last change
	// (updated_at): Since <= t < Until; zero is open.
	Since, Until time.Time
	// Before keeps jobs with an id below it: the key of the next page
	// (the last id of the page before); 0 starts at the newest.
	Before int64
	// Limit caps the page (1 to MaxPage; 0 means 50).
	Limit int
}

// where builds the conditions of q (without Before and Limit).
func (q Query) where() (string, []any) {
	var conds []string
	var args []any
	if len(q.Flows) > 0 {
		conds = append(conds, "flow IN ("+placeholders(len(q.Flows))+")")
		for _, f := range q.Flows {
			args = append(args, f)
		}
	}
	if q.State != "" {
		conds, args = append(conds, "state = ?"), append(args, q.State)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, "updated_at >= ?"), append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		conds, args = append(conds, "updated_at < ?"), append(args, micros(q.Until))
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// Page returns one page of the jobs q selects, newest (highest id) first,
// and the key of the next page (0 when this one is the last). Several
// flows (a vendor's) are read flow by flow, each through its index, and
// merged.
func (q *Queue) Page(ctx context.Context, f Query) ([]JobInfo, int64, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxPage:
		return nil, 0, fmt.Errorf("listing delivery jobs: page size %d: want 1 to %d", limit, MaxPage)
	}
	var out []JobInfo
	if len(f.Flows) > 1 {
		for _, flow := range f.Flows {
			one := f
			one.Flows = []string{flow}
			js, err := q.page(ctx, one, limit+1)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, js...)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	} else {
		var err error
		if out, err = q.page(ctx, f, limit+1); err != nil {
			return nil, 0, err
		}
	}
	// one more than the page tells whether a next page exists
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// page reads up to n jobs of f, newest first.
func (q *Queue) page(ctx context.Context, f Query, n int) ([]JobInfo, error) {
	cond, args := f.where()
	if f.Before > 0 {
		cond, args = cond+" AND id < ?", append(args, f.Before)
	}
	return q.jobs(ctx, `SELECT `+jobCols+` FROM delivery_jobs WHERE `+cond+` ORDER BY id DESC LIMIT ?`, append(args, n)...)
}

// DeadSelection is what a bulk retry acts on: the dead letters a Query
// selects with ids up to MaxID, counted when the operator was asked.
type DeadSelection struct {
	Count int
	MaxID int64 // 0 when Count is 0
}

// CountDead counts the dead letters f selects (its State, Before and
// Limit are ignored): what a bulk retry of f would retry now.
func (q *Queue) CountDead(ctx context.Context, f Query) (DeadSelection, error) {
	f.State = StateDeadLetter
	cond, args := f.where()
	var sel DeadSelection
	var max *int64
	err := q.st.DB().QueryRowContext(ctx, q.st.Rebind(`SELECT count(*), MAX(id) FROM delivery_jobs WHERE `+cond), args...).Scan(&sel.Count, &max)
	if err != nil {
		return DeadSelection{}, store.Classify("counting dead letters", err)
	}
	if max != nil {
		sel.MaxID = *max
	}
	return sel, nil
}

// RetryDead retries, as [Queue.Retry] does one, every dead letter f
// selects whose id is at most maxID (the bound CountDead returned, so a
// letter dead after the operator confirmed is not retried unasked), in
// one statement, and returns how many it retried.
func (q *Queue) RetryDead(ctx context.Context, f Query, maxID int64) (int, error) {
	f.State = StateDeadLetter
	cond, args := f.where()
	now := micros(time.Now())
	res, err := q.st.DB().ExecContext(ctx, q.st.Rebind(`UPDATE delivery_jobs SET state = ?, retry_base = attempts, run_at = ?, updated_at = ?
		WHERE `+cond+` AND id <= ?`), append([]any{StatePending, now, now}, append(args, maxID)...)...)
	if err != nil {
		return 0, store.Classify("retrying dead letters", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, store.Classify("retrying dead letters", err)
	}
	return int(n), nil
}

// FlowStats are one flow's counts for the dashboard.
type FlowStats struct {
	Flow string
	// Pending counts the jobs waiting that never failed in their current
	// round; Retrying the pending ones that did (attempts past the
	// round's base) and the ones in flight again; InFlight the jobs a
	// worker holds.
	Pending, Retrying, InFlight int
	// DeliveredHour, DeliveredDay, DeadHour and DeadDay count the jobs
	// delivered or dead-lettered in the last hour and day.
	DeliveredHour, DeliveredDay int
	DeadHour, DeadDay           int
	// Dead counts every dead letter, whenever it died.
	Dead int
	// OldestPending is when the oldest waiting job was created (zero
	// when none waits).
	OldestPending time.Time
}

// Stats returns the counts of every flow that has jobs, by flow name, at
// now. Each query reads one index range: the waiting jobs (few on a
// healthy queue) through delivery_jobs_state_id, the dead letters and
// the last day's delivered jobs through delivery_jobs_state_updated
// without touching the rows.
func (q *Queue) Stats(ctx context.Context, now time.Time) ([]FlowStats, error) {
	by := map[string]*FlowStats{}
	get := func(flow string) *FlowStats {
		s := by[flow]
		if s == nil {
			s = &FlowStats{Flow: flow}
			by[flow] = s
		}
		return s
	}
	hour, day := micros(now.Add(-time.Hour)), micros(now.Add(-24*time.Hour))
	err := q.each(ctx, "counting waiting delivery jobs", `SELECT state, flow, CASE WHEN attempts > retry_base THEN 1 ELSE 0 END, count(*), MIN(created_at)
		FROM delivery_jobs WHERE state IN (?, ?) GROUP BY state, flow, CASE WHEN attempts > retry_base THEN 1 ELSE 0 END`,
		[]any{StatePending, StateInFlight}, func(r scanner) error {
			var flow string
			var state State
			var failed, n int
			var oldest int64
			if err := r.Scan(&state, &flow, &failed, &n, &oldest); err != nil {
				return err
			}
			s := get(flow)
			switch {
			case state == StateInFlight:
				s.InFlight += n
			case failed == 1:
				s.Retrying += n
			default:
				s.Pending += n
			}
			if t := time.UnixMicro(oldest).UTC(); s.OldestPending.IsZero() || t.Before(s.OldestPending) {
				s.OldestPending = t
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = q.each(ctx, "counting dead letters", `SELECT flow, count(*), COALESCE(SUM(CASE WHEN updated_at >= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN updated_at >= ? THEN 1 ELSE 0 END), 0) FROM delivery_jobs WHERE state = ? GROUP BY flow`,
		[]any{hour, day, StateDeadLetter}, func(r scanner) error {
			var flow string
			var n, nHour, nDay int
			if err := r.Scan(&flow, &n, &nHour, &nDay); err != nil {
				return err
			}
			s := get(flow)
			s.Dead, s.DeadHour, s.DeadDay = n, nHour, nDay
			return nil
		})
	if err != nil {
		return nil, err
	}
	// two plain range counts: cheaper than one count with a CASE per row
	for _, w := range []struct {
		since int64
		set   func(*FlowStats, int)
	}{
		{day, func(s *FlowStats, n int) { s.DeliveredDay = n }},
		{hour, func(s *FlowStats, n int) { s.DeliveredHour = n }},
	} {
		err = q.each(ctx, "counting delivered jobs", `SELECT flow, count(*) FROM delivery_jobs WHERE state = ? AND updated_at >= ? GROUP BY flow`,
			[]any{StateDelivered, w.since}, func(r scanner) error {
				var flow string
				var n int
				if err := r.Scan(&flow, &n); err != nil {
					return err
				}
				w.set(get(flow), n)
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	out := make([]FlowStats, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Flow < out[j].Flow })
	return out, nil
}

// each runs query and calls fn on each row.
func (q *Queue) each(ctx context.Context, op, query string, args []any, fn func(scanner) error) error {
	rows, err := q.st.DB().QueryContext(ctx, q.st.Rebind(query), args...)
	if err != nil {
		return store.Classify(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return store.Classify(op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return store.Classify(op, err)
	}
	return nil
}

// Circuit is a vendor's circuit breaker state as an operator reads it.
type Circuit struct {
	Vendor string
	// State is "closed" (jobs flow), "open" (cooling down after failures:
	// nothing is sent) or "probing" (one job at a time until one succeeds).
	State string
	// Stalled is set when the vendor has due jobs and no worker has
	// claimed any for longer than Options.StallAfter.
	Stalled bool
	// Flows are the vendor's flows, sorted.
	Flows []string
}

// Circuits returns the state of each vendor's circuit at now, by vendor
// name.
func (r *Runner) Circuits(ctx context.Context) ([]Circuit, error) {
	stalled, err := r.Stalled(ctx)
	if err != nil {
		return nil, err
	}
	now := r.opt.Clock()
	out := make([]Circuit, 0, len(r.dests))
	for _, v := range sortedKeys(r.dests) {
		c := Circuit{Vendor: v, Flows: append([]string(nil), r.dests[v]...), State: "closed"}
		switch r.cb.state(v, now) {
		case circuitOpen:
			c.State = "open"
		case circuitProbe:
			c.State = "probing"
		}
		for _, s := range stalled {
			c.Stalled = c.Stalled || s == v
		}
		out = append(out, c)
	}
	return out, nil
}
