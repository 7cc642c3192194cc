package cluster

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// claimSQL takes the lease name for owner until lease_until unless a live
// node holds it: the row is new, or this node holds it already (a
// renewal), or its lease ended, or its owner's heartbeat is older than
// the dead-after bound. PostgreSQL re-checks the WHERE clause on the row
// it waited for, so two nodes racing for one name cannot both win.
const claimSQL = `INSERT INTO cluster_leases (name, owner, lease_until, acquired_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until,
		acquired_at = CASE WHEN cluster_leases.owner = excluded.owner THEN cluster_leases.acquired_at ELSE excluded.acquired_at END
	WHERE cluster_leases.owner = excluded.owner OR cluster_leases.lease_until <= ?
		OR NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.id = cluster_leases.owner AND n.heartbeat_at >= ?)`

// TryClaim takes the lease name for ttl unless another live node holds
// it, and reports whether this node holds it now. Claiming a lease this
// node holds renews it. A lease whose holder dies is free as soon as its
// heartbeat is older than DeadAfter, whatever its ttl.
func (n *Node) TryClaim(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	var ok bool
	err := n.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		ok, err = n.ClaimTx(ctx, tx, name, ttl)
		return err
	})
	return ok, err
}

// ClaimTx is TryClaim inside the caller's transaction: the lease is taken
// only if the transaction commits.
func (n *Node) ClaimTx(ctx context.Context, tx *store.Tx, name string, ttl time.Duration) (bool, error) {
	now := n.now()
	res, err := tx.SQL().ExecContext(ctx, tx.Rebind(claimSQL), name, n.id, now+ttl.Microseconds(), now,
		now, now-n.opt.DeadAfter.Microseconds())
	if err != nil {
		return false, store.Classify("claiming a cluster lease", err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, store.Classify("claiming a cluster lease", err)
	}
	return k == 1, nil
}

// Release gives the lease name back if this node holds it.
func (n *Node) Release(ctx context.Context, name string) error {
	_, err := n.st.DB().ExecContext(ctx, n.st.Rebind(`DELETE FROM cluster_leases WHERE name = ? AND owner = ?`), name, n.id)
	if err != nil {
		return store.Classify("releasing a cluster lease", err)
	}
	return nil
}

// Holds reports, inside tx, whether this node still holds the lease name
// (with time left). On PostgreSQL the lease row stays locked until tx
// ends, so no other node can take it between the check and the commit:
// write the outcome of leased work in the same transaction, guarded by
// Holds, and a node that lost its lease cannot record it.
func (n *Node) Holds(ctx context.Context, tx *store.Tx, name string) (bool, error) {
	var owner string
	var until int64
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT owner, lease_until FROM cluster_leases WHERE name = ?`+forUpdate(tx)), name).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, store.Classify("checking a cluster lease", err)
	}
	return owner == n.id && until > n.now(), nil
}

// Holder returns the node holding the lease name and until when ("" when
// nobody does), for operators and tests.
func (n *Node) Holder(ctx context.Context, name string) (string, time.Time, error) {
	var owner string
	var until int64
	err := n.st.DB().QueryRowContext(ctx, n.st.Rebind(`SELECT owner, lease_until FROM cluster_leases WHERE name = ?`), name).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, store.Classify("reading a cluster lease", err)
	}
	return owner, time.UnixMicro(until).UTC(), nil
}

// forUpdate locks the row read on PostgreSQL; SQLite's transactions hold
// the write lock from BEGIN.
func forUpdate(tx *store.Tx) string {
	if tx.SkipLocked() == "" {
		return ""
	}
	return " FOR UPDATE"
}

// Singleton returns a function that runs fn only while this node holds
// the lease "singleton:"+name: one node of the cluster runs it at a time.
// The holder renews the lease every heartbeat; when it dies the lease is
// free after DeadAfter and another node starts fn. If the holder cannot
// renew (the store is unreachable for longer than DeadAfter, or another
// node took the lease), fn's context is cancelled and the node competes
// again once fn returns. When ctx ends, fn's context is cancelled, and
// the lease released after fn returns.
//
// fn must return soon after its context ends, and must be safe to run
// again from the start on another node (it is a poller or a loop over
// durable state, not a one-off).
func (n *Node) Singleton(name string, fn func(ctx context.Context)) func(ctx context.Context) {
	lease := "singleton:" + name
	return func(ctx context.Context) {
		tick := time.NewTicker(n.opt.Heartbeat)
		defer tick.Stop()
		for {
			ok, err := n.TryClaim(ctx, lease, n.opt.DeadAfter)
			if err != nil && ctx.Err() == nil {
				n.log.Warn("claiming singleton work", "work", name, "err", err)
			}
			if ok {
				n.log.Info("running singleton work on this node", "work", name, "node", n.id)
				n.metrics.singleton.WithLabelValues(name).Set(1)
				n.hold(ctx, name, lease, fn)
				n.metrics.singleton.WithLabelValues(name).Set(0)
			}
			if ctx.Err() != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = n.Release(rctx, lease)
				cancel()
				return
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}
}

// hold runs fn under the lease, renewing it every heartbeat, until ctx
// ends or the lease is lost, and returns after fn does.
func (n *Node) hold(ctx context.Context, name, lease string, fn func(ctx context.Context)) {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); fn(fctx) }()
	tick := time.NewTicker(n.opt.Heartbeat)
	defer tick.Stop()
	renewed := n.opt.Clock()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			<-done
			return
		case <-tick.C:
		}
		ok, err := n.TryClaim(ctx, lease, n.opt.DeadAfter)
		switch {
		case err == nil && ok:
			renewed = n.opt.Clock()
			continue
		case err == nil:
			n.log.Warn("singleton work taken over by another node; stopping it here", "work", name, "node", n.id)
		case ctx.Err() != nil:
			continue
		case n.opt.Clock().Sub(renewed) < n.opt.DeadAfter:
			n.log.Warn("renewing singleton lease failed; retrying", "work", name, "err", err)
			continue
		default:
			n.log.Warn("singleton lease not renewed within dead_after; stopping the work here", "work", name, "err", err)
		}
		cancel()
		<-done
		return
	}
}
