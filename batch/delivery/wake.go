package delivery

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Waking the runner.
//
// A runner polls the queue every Options.PollInterval, but a new job
// wakes it at once: on PostgreSQL, Enqueue and EnqueueWork send NOTIFY
// on NotifyChannel inside the enqueueing transaction (PostgreSQL delivers
// it on commit, to every replica), and each runner LISTENs on a
// connection of its own; on SQLite, where one process owns the store, an
// enqueue pokes the process's runners directly. The poll stays as the
// fallback (a listener that failed reconnects meanwhile), and for jobs
// that fall due later (retries, waits).

// NotifyChannel is the PostgreSQL channel Enqueue notifies; the payload
// is the job's flow name.
const NotifyChannel = "fhirbridge_delivery"

// local holds the running runners of this process, poked by an enqueue
// on SQLite.
var local struct {
	sync.Mutex
	runners map[*Runner]bool
}

// notify announces a new job of flow inside tx: NOTIFY on PostgreSQL
// (delivered on commit); on SQLite a poke of this process's runners. A
// poke may come before the commit: on SQLite the enqueueing transaction
// runs in the store's one writer, so the claim the poke starts runs after
// it, and sees the job if it committed.
func notify(ctx context.Context, tx *store.Tx, flow string) error {
	if isPostgres(tx) {
		if _, err := tx.SQL().ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, flow); err != nil {
			return store.Classify("notifying the delivery runners", err)
		}
		return nil
	}
	local.Lock()
	for r := range local.runners {
		r.poke("local")
	}
	local.Unlock()
	return nil
}

// poke wakes Run once (a poke while one is pending is merged with it).
func (r *Runner) poke(source string) {
	select {
	case r.wake <- struct{}{}:
		r.metrics.limits.wakeups.WithLabelValues(source).Inc()
	default:
	}
}

// startWaking makes r wakeable while Run runs: registered for local pokes
// on SQLite, listening for notifications on PostgreSQL. The returned
// function stops it and waits for the listener.
func (r *Runner) startWaking(ctx context.Context) func() {
	if r.st.SingleProcess() {
		local.Lock()
		if local.runners == nil {
			local.runners = map[*Runner]bool{}
		}
		local.runners[r] = true
		local.Unlock()
		return func() {
			local.Lock()
			delete(local.runners, r)
			local.Unlock()
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.listen(lctx)
	}()
	return func() { cancel(); <-done }
}

// listen keeps a LISTEN connection open until ctx ends, reconnecting
// after a failure with a growing pause (from PollInterval to 30s).
func (r *Runner) listen(ctx context.Context) {
	pause := r.opt.PollInterval
	for {
		start := time.Now()
		err := r.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		r.metrics.limits.listenerFailures.Inc()
		r.log.Warn("delivery notifications lost; polling meanwhile, reconnecting", "err", err, "retry_in", pause)
		if time.Since(start) > time.Minute {
			pause = r.opt.PollInterval // it had been working: start again from short
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// listenOnce takes a connection out of the store's pool, LISTENs on it
// and pokes the runner on every notification until ctx ends or the
// connection fails. The connection is never given back to the pool (it
// is closed), so no pooled connection keeps listening.
func (r *Runner) listenOnce(ctx context.Context) error {
	conn, err := r.st.DB().Conn(ctx)
	if err != nil {
		return store.Classify("opening the delivery listener connection", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("delivery listener: the store's driver is not pgx (%T)", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
			return errors.Join(store.Classify("listening for delivery notifications", err), driver.ErrBadConn)
		}
		// jobs enqueued while no one listened are claimed now
		r.poke("notify")
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				// discard the connection: it is still registered as a
				// listener, or broken
				if ctx.Err() != nil {
					return driver.ErrBadConn
				}
				return errors.Join(store.Classify("waiting for delivery notifications", err), driver.ErrBadConn)
			}
			r.poke("notify")
		}
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
