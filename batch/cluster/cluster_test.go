package cluster

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
)

// fakeClock is a clock the test moves by hand, shared by several nodes.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func join(t *testing.T, st *store.Store, clk *fakeClock) *Node {
	t.Helper()
	n, err := Join(context.Background(), st, Options{Heartbeat: time.Second, DeadAfter: 5 * time.Second, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func claim(t *testing.T, n *Node, name string, ttl time.Duration) bool {
	t.Helper()
	ok, err := n.TryClaim(context.Background(), name, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestLeaseOneHolder: a lease has one live holder; the holder renews it;
// it is free when its ttl ends, when the holder releases it, and as soon
// as the holder's heartbeat is older than DeadAfter, whatever the ttl.
func TestLeaseOneHolder(t *testing.T) {
	storetest.Each(t, "cluster", func(t *testing.T, st *store.Store) {
		clk := &fakeClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
		a, b := join(t, st, clk), join(t, st, clk)
		ctx := context.Background()
		steps := []struct {
			name string
			do   func()
			node *Node
			want bool
		}{
			{"a takes the slot", nil, a, true},
			{"b cannot while a holds it", nil, b, false},
			{"a renews", nil, a, true},
			{"ttl over: b takes it", func() { clk.Add(61 * time.Second); a.Beat(ctx); b.Beat(ctx) }, b, true},
			{"a cannot take it back", nil, a, false},
			{"b releases, a takes it", func() {
				if err := b.Release(ctx, "export:x"); err != nil {
					t.Fatal(err)
				}
			}, a, true},
			{"a stops beating: b takes it after dead_after", func() { clk.Add(6 * time.Second); b.Beat(ctx) }, b, true},
		}
		for _, s := range steps {
			if s.do != nil {
				s.do()
			}
			if got := claim(t, s.node, "export:x", time.Minute); got != s.want {
				t.Fatalf("%s: claimed = %v, want %v", s.name, got, s.want)
			}
		}
		owner, _, err := a.Holder(ctx, "export:x")
		if err != nil || owner != b.ID() {
			t.Fatalf("holder = %q, %v; want b", owner, err)
		}
	})
}

// TestHoldsFences: the holder's check inside a transaction fails once
// another node took the lease.
func TestHoldsFences(t *testing.T) {
	storetest.Each(t, "cluster", func(t *testing.T, st *store.Store) {
		clk := &fakeClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
		a, b := join(t, st, clk), join(t, st, clk)
		ctx := context.Background()
		holds := func(n *Node) bool {
			var ok bool
			if err := st.InTx(ctx, func(tx *store.Tx) error {
				var err error
				ok, err = n.Holds(ctx, tx, "file:f")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim(t, a, "file:f", time.Minute) || !holds(a) || holds(b) {
			t.Fatal("a should hold file:f and b not")
		}
		clk.Add(6 * time.Second) // a's heartbeat is stale
		b.Beat(ctx)
		if !claim(t, b, "file:f", time.Minute) {
			t.Fatal("b should take the lease of a dead node")
		}
		if holds(a) || !holds(b) {
			t.Fatal("after the takeover only b holds file:f")
		}
	})
}

// TestReapHandsBackWork: a live node reaps a node whose heartbeat
// stopped: the registered ReapFuncs get its id in one transaction, and its
// row and leases are gone; the reaped node finds out at its next beat and
// joins again.
func TestReapHandsBackWork(t *testing.T) {
	storetest.Each(t, "cluster", func(t *testing.T, st *store.Store) {
		clk := &fakeClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
		a, b := join(t, st, clk), join(t, st, clk)
		ctx := context.Background()
		var got [][]string
		b.OnReap("test", func(ctx context.Context, tx *store.Tx, ids []string) error {
			got = append(got, slices.Clone(ids))
			return nil
		})
		claim(t, a, "singleton:poll", time.Hour)
		clk.Add(3 * time.Second)
		b.Beat(ctx)
		if len(got) != 0 {
			t.Fatalf("a is alive (3s < dead_after) but was reaped: %v", got)
		}
		clk.Add(3 * time.Second)
		b.Beat(ctx)
		if len(got) != 1 || !slices.Equal(got[0], []string{a.ID()}) {
			t.Fatalf("reaped %v, want [[a]]", got)
		}
		if owner, _, _ := b.Holder(ctx, "singleton:poll"); owner != "" {
			t.Fatalf("a dead node's lease is still held by %q", owner)
		}
		nodes, err := b.Nodes(ctx)
		if err != nil || len(nodes) != 1 || nodes[0].ID != b.ID() {
			t.Fatalf("live nodes = %v, %v; want b only", nodes, err)
		}
		a.Beat(ctx) // a comes back (a long pause, not a death)
		nodes, _ = b.Nodes(ctx)
		if len(nodes) != 2 {
			t.Fatalf("a did not join again: %v", nodes)
		}
	})
}

// TestLeaveAndExclusive: a node that leaves hands back its own work; a
// node joining with Exclusive reaps every other node at once.
func TestLeaveAndExclusive(t *testing.T) {
	storetest.Each(t, "cluster", func(t *testing.T, st *store.Store) {
		clk := &fakeClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
		ctx := context.Background()
		a := join(t, st, clk)
		var left []string
		a.OnReap("test", func(ctx context.Context, tx *store.Tx, ids []string) error {
			left = append(left, ids...)
			return nil
		})
		claim(t, a, "singleton:x", time.Hour)
		if err := a.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(left, []string{a.ID()}) {
			t.Fatalf("leave handed back %v, want a's own id", left)
		}
		b := join(t, st, clk)
		if !claim(t, b, "singleton:x", time.Hour) {
			t.Fatal("a left: its lease should be free")
		}
		c, err := Join(ctx, st, Options{Heartbeat: time.Second, DeadAfter: 5 * time.Second, Clock: clk.Now, Exclusive: true})
		if err != nil {
			t.Fatal(err)
		}
		if owner, _, _ := c.Holder(ctx, "singleton:x"); owner != "" {
			t.Fatalf("exclusive join left b's lease to %q", owner)
		}
		if _, err := Join(ctx, st, Options{Heartbeat: time.Second, DeadAfter: 2 * time.Second}); err == nil {
			t.Fatal("dead_after shorter than three heartbeats was accepted")
		}
	})
}

// TestSingletonFailover: of three nodes running the same singleton, one
// runs it at a time; when the holder leaves (graceful stop) or dies
// (stops beating), another takes over within a few heartbeats.
func TestSingletonFailover(t *testing.T) {
	storetest.Each(t, "cluster", func(t *testing.T, st *store.Store) {
		opt := Options{Heartbeat: 50 * time.Millisecond, DeadAfter: time.Second}
		var running, maxRunning atomic.Int32
		var ranOn sync.Map
		work := func(id string) func(ctx context.Context) {
			return func(ctx context.Context) {
				if k := running.Add(1); k > maxRunning.Load() {
					maxRunning.Store(k)
				}
				ranOn.Store(id, true)
				<-ctx.Done()
				running.Add(-1)
			}
		}
		type member struct {
			n    *Node
			stop func() // stops the singleton, then the node (as serve does)
		}
		start := func() member {
			n, err := Join(context.Background(), st, opt)
			if err != nil {
				t.Fatal(err)
			}
			nctx, ncancel := context.WithCancel(context.Background())
			sctx, scancel := context.WithCancel(context.Background())
			ndone, sdone := make(chan struct{}), make(chan struct{})
			go func() { defer close(ndone); n.Run(nctx) }()
			go func() { defer close(sdone); n.Singleton("poll", work(n.ID()))(sctx) }()
			var once sync.Once
			return member{n, func() {
				once.Do(func() { scancel(); <-sdone; ncancel(); <-ndone })
			}}
		}
		ms := []member{start(), start(), start()}
		holder := func() string {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				owner, _, err := ms[0].n.Holder(context.Background(), "singleton:poll")
				if err != nil {
					t.Fatal(err)
				}
				if _, ran := ranOn.Load(owner); owner != "" && ran && running.Load() == 1 {
					return owner
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatal("no node took the singleton")
			return ""
		}
		first := holder()
		idx := slices.IndexFunc(ms, func(m member) bool { return m.n.ID() == first })
		ms[idx].stop() // graceful: the lease is released, the node leaves
		second := holder()
		if second == first {
			t.Fatal("the singleton did not move after its holder left")
		}
		for _, m := range ms {
			m.stop()
		}
		if maxRunning.Load() != 1 {
			t.Fatalf("the singleton ran on %d nodes at once", maxRunning.Load())
		}
	})
}
