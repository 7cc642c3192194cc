// Package cluster lets several processes share one store's work: each
// process is a node with an id and a heartbeat in the database, work that
// must run once is held under a named lease, and the work of a node whose
// heartbeat stopped is handed to the others within seconds.
//
// The same code runs on SQLite (one process, so every lease is granted at
// once) and on PostgreSQL (serve replicas behind a load balancer).
//
// A node's id names the host and process ("host/pid/random"); it is an
// operational name, never patient data. Times are compared on each node's
// own clock: keep the replicas' clocks in sync (NTP), well within
// Options.DeadAfter.
package cluster

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "cluster": the tables
// cluster_nodes and cluster_leases (see [store.RegisterMigrations]).
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("cluster", migrationFS, "migrations") }

// Options tune a Node; zero fields take the defaults named.
type Options struct {
	// Heartbeat is how often the node refreshes its heartbeat, renews
	// the leases of its singletons and looks for dead nodes (2s).
	Heartbeat time.Duration
	// DeadAfter is how long a node may go without a heartbeat before the
	// others count it dead, reap it and take its work (10s). It must be
	// at least three heartbeats.
	DeadAfter time.Duration
	// Exclusive says this node owns the store alone (SQLite, guarded by
	// the store's lock file): every other node is dead by definition and
	// is reaped at Join, so a restart after kill -9 takes its work back at
	// once.
	Exclusive bool
	// Clock returns the current time (time.Now).
	Clock func() time.Time
	// Logger receives operational messages (discarded when nil).
	Logger *slog.Logger
}

// ReapFunc hands back, inside tx, the work held by the nodes ids: jobs in
// flight, claims of its own tables. It runs when those nodes are found
// dead, and for a node's own id when it leaves. It must be idempotent:
// two nodes may reap the same dead node.
type ReapFunc func(ctx context.Context, tx *store.Tx, ids []string) error

// Node is this process's membership of the cluster. Build it with Join,
// run its heartbeat with Run, and Leave when done (Run leaves when its
// context ends).
type Node struct {
	st  *store.Store
	id  string
	opt Options
	log *slog.Logger

	mu      sync.Mutex
	reapers []reaper
	left    bool

	metrics *metrics
}

type reaper struct {
	name string
	fn   ReapFunc
}

// Join registers a new node in st and returns it. The heartbeat starts
// with Run.
func Join(ctx context.Context, st *store.Store, opt Options) (*Node, error) {
	opt = withDefaults(opt)
	if opt.DeadAfter < 3*opt.Heartbeat {
		return nil, fmt.Errorf("configuring the cluster node: dead_after (%s) must be at least three heartbeats (%s)", opt.DeadAfter, opt.Heartbeat)
	}
	n := &Node{st: st, id: newID(), opt: opt, log: opt.Logger, metrics: newMetrics()}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	if opt.Exclusive {
		if _, err := n.reap(ctx, true); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func withDefaults(o Options) Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 2 * time.Second
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

// newID returns "host/pid/8 hex digits": unique across restarts of one
// process id.
func newID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	host = strings.ReplaceAll(host, "/", "_")
	if len(host) > 64 {
		host = host[:64]
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ID returns the node's id, the owner name of everything it holds.
func (n *Node) ID() string { return n.id }

// Options returns the node's options with their defaults filled.
func (n *Node) Options() Options { return n.opt }

// OnReap registers fn, named for logs, to hand back the work of dead
// nodes (and of this node when it leaves). Register before Run.
func (n *Node) OnReap(name string, fn ReapFunc) {
	n.mu.Lock()
	n.reapers = append(n.reapers, reaper{name, fn})
	n.mu.Unlock()
}

func (n *Node) now() int64 { return n.opt.Clock().UnixMicro() }

// register inserts (or, after this node was reaped, re-inserts) the
// node's row.
func (n *Node) register(ctx context.Context) error {
	host, pid := n.hostPID()
	now := n.now()
	err := n.st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO cluster_nodes (id, host, pid, started_at, heartbeat_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`),
			n.id, host, pid, now, now)
		return err
	})
	if err != nil {
		return store.Classify("registering the cluster node", err)
	}
	return nil
}

func (n *Node) hostPID() (string, int) {
	host, _, _ := strings.Cut(n.id, "/")
	return host, os.Getpid()
}

// Run beats the heartbeat and reaps dead nodes every Options.Heartbeat
// until ctx ends, then leaves the cluster (handing its work back) and
// returns nil. A failed beat is logged and retried; if the node finds it
// was itself reaped (its row is gone: it missed heartbeats for longer than
// DeadAfter), it registers again and says so in the log, since its work
// has meanwhile been handed to others.
func (n *Node) Run(ctx context.Context) error {
	tick := time.NewTicker(n.opt.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := n.Leave(lctx); err != nil {
				n.log.Warn("leaving the cluster", "node", n.id, "err", err)
			}
			return nil
		case <-tick.C:
		}
		n.Beat(ctx)
	}
}

// Beat refreshes the heartbeat once and reaps the nodes found dead. Run
// calls it every heartbeat; tests call it directly.
func (n *Node) Beat(ctx context.Context) {
	if err := n.beat(ctx); err != nil {
		if ctx.Err() == nil {
			n.log.Warn("cluster heartbeat failed", "node", n.id, "err", err)
		}
		return
	}
	if _, err := n.reap(ctx, false); err != nil && ctx.Err() == nil {
		n.log.Warn("reaping dead cluster nodes failed", "node", n.id, "err", err)
	}
}

func (n *Node) beat(ctx context.Context) error {
	res, err := n.st.DB().ExecContext(ctx, n.st.Rebind(`UPDATE cluster_nodes SET heartbeat_at = ? WHERE id = ?`), n.now(), n.id)
	if err != nil {
		return store.Classify("refreshing the cluster heartbeat", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		n.log.Warn("this node was counted dead by the cluster (heartbeats missed for longer than dead_after); its work was handed to others; joining again", "node", n.id)
		n.metrics.rejoined.Inc()
		return n.register(ctx)
	}
	n.metrics.beats.Inc()
	return nil
}

// reap finds the nodes whose heartbeat is older than DeadAfter (every
// other node when all is set), hands their work back with the registered
// ReapFuncs and removes them and their leases, in one transaction. It
// returns the ids reaped.
func (n *Node) reap(ctx context.Context, all bool) ([]string, error) {
	q, args := `SELECT id FROM cluster_nodes WHERE heartbeat_at < ? AND id <> ?`, []any{n.now() - n.opt.DeadAfter.Microseconds(), n.id}
	if all {
		q, args = `SELECT id FROM cluster_nodes WHERE id <> ?`, []any{n.id}
	}
	dead, err := n.strings(ctx, q, args...)
	if err != nil || len(dead) == 0 {
		return nil, err
	}
	n.mu.Lock()
	reapers := append([]reaper(nil), n.reapers...)
	n.mu.Unlock()
	err = n.st.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range reapers {
			if err := r.fn(ctx, tx, dead); err != nil {
				return fmt.Errorf("handing back the work (%s) of dead nodes: %w", r.name, err)
			}
		}
		in, args := inList(dead)
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM cluster_leases WHERE owner IN (`+in+`)`), args...); err != nil {
			return store.Classify("releasing the leases of dead nodes", err)
		}
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM cluster_nodes WHERE id IN (`+in+`)`), args...); err != nil {
			return store.Classify("removing dead nodes", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n.metrics.reaped.Add(float64(len(dead)))
	n.log.Warn("reaped dead cluster nodes; their work is handed back", "node", n.id, "dead", strings.Join(dead, ","))
	return dead, nil
}

// Leave hands back this node's work (the ReapFuncs with its own id),
// releases its leases and removes its row. Run calls it when its context
// ends; calling it twice is harmless.
func (n *Node) Leave(ctx context.Context) error {
	n.mu.Lock()
	if n.left {
		n.mu.Unlock()
		return nil
	}
	n.left = true
	reapers := append([]reaper(nil), n.reapers...)
	n.mu.Unlock()
	ids := []string{n.id}
	return n.st.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range reapers {
			if err := r.fn(ctx, tx, ids); err != nil {
				return fmt.Errorf("handing back this node's work (%s): %w", r.name, err)
			}
		}
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM cluster_leases WHERE owner = ?`), n.id); err != nil {
			return store.Classify("releasing this node's leases", err)
		}
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM cluster_nodes WHERE id = ?`), n.id); err != nil {
			return store.Classify("removing this node", err)
		}
		return nil
	})
}

// NodeInfo is one live node as the store records it.
type NodeInfo struct {
	ID        string
	Host      string
	PID       int
	Started   time.Time
	Heartbeat time.Time
}

// Nodes lists the nodes whose heartbeat is within DeadAfter, by id.
func (n *Node) Nodes(ctx context.Context) ([]NodeInfo, error) {
	rows, err := n.st.DB().QueryContext(ctx, n.st.Rebind(`SELECT id, host, pid, started_at, heartbeat_at FROM cluster_nodes
		WHERE heartbeat_at >= ? ORDER BY id`), n.now()-n.opt.DeadAfter.Microseconds())
	if err != nil {
		return nil, store.Classify("listing cluster nodes", err)
	}
	defer rows.Close()
	var out []NodeInfo
	for rows.Next() {
		var ni NodeInfo
		var started, beat int64
		if err := rows.Scan(&ni.ID, &ni.Host, &ni.PID, &started, &beat); err != nil {
			return nil, store.Classify("listing cluster nodes", err)
		}
		ni.Started, ni.Heartbeat = time.UnixMicro(started).UTC(), time.UnixMicro(beat).UTC()
		out = append(out, ni)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("listing cluster nodes", err)
	}
	return out, nil
}

// strings runs a query returning one text column.
func (n *Node) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := n.st.DB().QueryContext(ctx, n.st.Rebind(q), args...)
	if err != nil {
		return nil, store.Classify("reading cluster nodes", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, store.Classify("reading cluster nodes", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("reading cluster nodes", err)
	}
	return out, nil
}

// inList returns "?, ?, …" for ids and ids as arguments.
func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}

// ErrLeaseLost is returned by work run under a lease that another node
// took (this node was counted dead): what it did may need to be checked.
var ErrLeaseLost = errors.New("lease lost to another node")
