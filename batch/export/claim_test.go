package export

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// gatedRemote is a shared remote whose Puts can be held: while hold is
// set, the first Put of a CSV file waits until gate closes.
type gatedRemote struct {
	*fakeRemote
	hold    atomic.Bool
	entered chan struct{} // closed when the held Put starts
	gate    chan struct{}
	once    sync.Once
	csvPuts atomic.Int64
}

func (g *gatedRemote) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	if strings.HasSuffix(name, ".csv") {
		g.csvPuts.Add(1)
		if g.hold.Load() {
			held := false
			g.once.Do(func() { held = true })
			if held {
				close(g.entered)
				select {
				case <-g.gate:
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
		}
	}
	return g.fakeRemote.Put(ctx, name, r)
}

func (g *gatedRemote) Close() error { return nil }

// replica is one process running the job: its cluster node and Runner.
type replica struct {
	node     *cluster.Node
	runner   *Runner
	notices  atomic.Int64
	uploads  atomic.Int64
	cancel   context.CancelFunc
	done     chan struct{}
	nodeStop context.CancelFunc
}

// startReplica joins the cluster and runs a Runner of job "shared"
// (*/15, catching up the latest due slot at once). beat runs the node's
// heartbeat; a replica without it counts as dead after DeadAfter.
func startReplica(t *testing.T, st *store.Store, remote connectors.Remote, beat bool) *replica {
	t.Helper()
	node, err := cluster.Join(context.Background(), st, cluster.Options{Heartbeat: 50 * time.Millisecond, DeadAfter: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := ParseSchedule("*/15 * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	rp := &replica{node: node, done: make(chan struct{})}
	nctx, nstop := context.WithCancel(context.Background())
	rp.nodeStop = nstop
	if beat {
		go node.Run(nctx)
	}
	rp.runner = &Runner{Spec: mustSpec(t, "shared", "tuotempo/export", map[string]string{"timezone": "UTC"}), Schedule: sched, Store: st,
		Open:      func(context.Context) (connectors.Remote, error) { return remote, nil },
		Options:   RunOptions{Backoff: time.Millisecond, MaxBackoff: time.Millisecond, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))},
		Claims:    node,
		ClaimPoll: 20 * time.Millisecond,
		OnFailure: func(Slot, Result, error, Streak) { rp.notices.Add(1) },
		OnSuccess: func(context.Context, Slot, Result) { rp.uploads.Add(1) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp.cancel = cancel
	go func() {
		defer close(rp.done)
		if err := rp.runner.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(rp.stop)
	return rp
}

func (rp *replica) stop() {
	rp.cancel()
	<-rp.done
	rp.nodeStop()
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// slotRows counts the recorded slots of job "shared".
func slotRows(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM export_slots WHERE job = 'shared'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// TestReplicasRunASlotOnce: three replicas of one job on one store run
// the due slot once: one upload, one ledger entry, one slot row; the
// others wait for it and record nothing.
func TestReplicasRunASlotOnce(t *testing.T) {
	storetest.Each(t, "export_claims", func(t *testing.T, st *store.Store) {
		remote := &gatedRemote{fakeRemote: newFakeRemote()}
		var rs []*replica
		for range 3 {
			rs = append(rs, startReplica(t, st, remote, true))
		}
		eventually(t, "the slot is recorded", func() bool { return slotRows(t, st) == 1 })
		time.Sleep(200 * time.Millisecond) // ten claim polls of the others
		for _, rp := range rs {
			rp.stop()
		}
		var uploads int64
		for _, rp := range rs {
			uploads += rp.uploads.Load()
		}
		if got := remote.csvPuts.Load(); got != 1 || uploads != 1 {
			t.Errorf("%d CSV uploads, %d reported, want 1 and 1", got, uploads)
		}
		if es := ledgerEntries(t, st); len(es) != 1 {
			t.Errorf("%d ledger entries, want 1", len(es))
		}
	})
}

// TestReplicaDiesMidUpload: the replica running a slot stops beating
// while its upload hangs; another replica takes the claim over once the
// first counts as dead, uploads and records the slot. When the first
// upload finally returns, its record is refused (the claim is lost):
// one slot row, one ledger entry, no failure notice.
func TestReplicaDiesMidUpload(t *testing.T) {
	storetest.Each(t, "export_claims", func(t *testing.T, st *store.Store) {
		remote := &gatedRemote{fakeRemote: newFakeRemote(), entered: make(chan struct{}), gate: make(chan struct{})}
		remote.hold.Store(true)
		dying := startReplica(t, st, remote, false) // no heartbeat: dead after 400ms
		select {
		case <-remote.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first replica never started its upload")
		}
		taker := startReplica(t, st, remote, true)
		eventually(t, "the slot is recorded by the second replica", func() bool { return taker.uploads.Load() == 1 })
		close(remote.gate) // the first replica's upload returns now
		time.Sleep(200 * time.Millisecond)
		dying.stop()
		taker.stop()
		if n := slotRows(t, st); n != 1 {
			t.Errorf("%d slot rows, want 1", n)
		}
		if es := ledgerEntries(t, st); len(es) != 1 {
			t.Errorf("%d ledger entries, want 1: %+v", len(es), es)
		}
		if dying.uploads.Load() != 0 || dying.notices.Load()+taker.notices.Load() != 0 {
			t.Errorf("dying replica: %d uploads reported, notices %d and %d; want none", dying.uploads.Load(), dying.notices.Load(), taker.notices.Load())
		}
	})
}

// TestReplicasNoticeOnce: a slot that fails for good is run by one
// replica and noticed once; the others do not run it again.
func TestReplicasNoticeOnce(t *testing.T) {
	storetest.Each(t, "export_claims", func(t *testing.T, st *store.Store) {
		remote := &gatedRemote{fakeRemote: newFakeRemote(connectors.Permanently(errors.New("550 permission denied")))}
		var rs []*replica
		for range 3 {
			rs = append(rs, startReplica(t, st, remote, true))
		}
		eventually(t, "the failure is noticed", func() bool {
			var n int64
			for _, rp := range rs {
				n += rp.notices.Load()
			}
			return n > 0
		})
		time.Sleep(300 * time.Millisecond)
		var notices int64
		for _, rp := range rs {
			rp.stop()
			notices += rp.notices.Load()
		}
		if notices != 1 || remote.csvPuts.Load() != 1 {
			t.Errorf("%d notices and %d upload attempts, want 1 and 1", notices, remote.csvPuts.Load())
		}
		s, err := loadStreak(context.Background(), st, "shared")
		if err != nil || s.Failures != 1 || !s.Notified {
			t.Errorf("streak %+v, %v; want one notified failure", s, err)
		}
	})
}
