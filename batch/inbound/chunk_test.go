package inbound

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
)

// mixedFile is a cancellation file of n data rows: cancellations of
// stored Appointments, rows naming no stored Appointment, rows with a
// field missing and blank lines; ids lists the Appointments it names.
func mixedFile(n int) (data string, ids []string) {
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		id := fmt.Sprintf("a%d", i)
		switch i % 7 {
		case 3:
			fmt.Fprintf(&b, "zz%d;;;;p;CANCELLED by USER\n", i) // unknown
		case 5:
			fmt.Fprintf(&b, "%s;;;p;CANCELLED by ADMIN\n\n", id) // a field short, then a blank line
		default:
			ids = append(ids, id)
			fmt.Fprintf(&b, "%s;;;;p;CANCELLED by USER\n", id)
		}
	}
	return b.String(), ids
}

// outcomeOf is what must come out the same however the file was applied.
type outcomeOf struct {
	Outcome                             string
	RowsOK, RowsFailed, Cancelled, Upd  int
	Failed                              []LineError
	CancelledIDs                        []string
	LedgerRows, LedgerFailed, LedgerIDs int
	Detail                              string
}

func outcome1(t *testing.T, e *env, f FileReport) outcomeOf {
	t.Helper()
	ent := e.entries()
	if len(ent) != 1 {
		t.Fatalf("%d ledger entries, want 1: %+v", len(ent), ent)
	}
	return outcomeOf{f.Outcome, f.RowsOK, f.RowsFailed, f.CancelledCount, f.Updated, f.Failed, f.Cancelled,
		ent[0].RowsOK, ent[0].RowsFailed, len(ent), ent[0].Detail}
}

// TestResumeAfterCrash: a file applied in chunks stops after chunk k (the
// chunk's transaction rolls back, as a crash would); a new Poller over
// the same store resumes at the checkpoint. Counts, refused lines and
// cancelled ids come out exactly as a one-shot run's, so no row was
// applied twice or skipped (a row applied twice would not count as
// cancelled again).
func TestResumeAfterCrash(t *testing.T) {
	const name = "cancellations_big.csv"
	data, ids := mixedFile(60)
	oneShot := func() outcomeOf {
		e := newEnv(t, Spec{DoneMarker: ".done"}, Options{ChunkRows: 1 << 20}, ids...)
		e.remote.write(name, data)
		e.remote.write(name+".done", "")
		rep := e.poll(0)
		if len(rep.Files) != 1 || rep.Files[0].Err != nil {
			t.Fatalf("one-shot run: %+v", rep)
		}
		return outcome1(t, e, rep.Files[0])
	}()
	if oneShot.RowsOK == 0 || oneShot.RowsFailed == 0 {
		t.Fatalf("the file must mix applied and refused rows: %+v", oneShot)
	}
	for _, k := range []int{0, 1, 4, 8} {
		t.Run(fmt.Sprintf("crash in chunk %d", k), func(t *testing.T) {
			e := newEnv(t, Spec{DoneMarker: ".done"}, Options{ChunkRows: 7}, ids...)
			e.remote.write(name, data)
			e.remote.write(name+".done", "")
			crash := errors.New("injected crash")
			e.p.chunkHook = func(c int) error {
				if c == k {
					return crash
				}
				return nil
			}
			rep := e.poll(0)
			if len(rep.Files) != 1 || !errors.Is(rep.Files[0].Err, crash) || !e.remote.has(name) {
				t.Fatalf("crashed run: %+v", rep)
			}
			if ent := e.entries(); k > 0 && (len(ent) != 1 || ent[0].Outcome != ledger.OutcomeInProgress || ent[0].Line == 0) {
				t.Fatalf("no checkpoint after the crash: %+v", ent)
			}
			e.p = e.newPoller() // a restarted bridge
			rep = e.poll(0)
			if len(rep.Files) != 1 || rep.Files[0].Err != nil || rep.Files[0].MovedTo == "" {
				t.Fatalf("resumed run: %+v", rep)
			}
			got := outcome1(t, e, rep.Files[0])
			if !reflect.DeepEqual(got, oneShot) {
				t.Errorf("resumed after chunk %d:\n got %+v\nwant %+v", k, got, oneShot)
			}
		})
	}
}

// seed stores booked Appointments ids.
func seed(t testing.TB, st *store.Store, ids []string) {
	t.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			body := `{"resourceType":"Appointment","id":"` + id + `","status":"booked"}`
			if _, _, err := tx.PutResource(ctx, "Appointment", id, []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPollersRace: two pollers on one store and one remote, each its own
// cluster node (two replicas), poll the same files at once, again and
// again: each file is applied by exactly one (one ledger entry, one new
// version per Appointment, each file moved once) and the other reports
// nothing, with claims and without (the ledger key alone).
func TestPollersRace(t *testing.T) {
	const files = 6
	var all []string
	contents := make([]string, files)
	for i := range files {
		var b strings.Builder
		b.WriteString(header)
		for r := range 40 {
			id := fmt.Sprintf("f%dr%d", i, r)
			all = append(all, id)
			fmt.Fprintf(&b, "%s;;;;p;CANCELLED by USER\n", id)
		}
		contents[i] = b.String()
	}
	for _, claims := range []bool{true, false} {
		t.Run(fmt.Sprintf("claims=%v", claims), func(t *testing.T) {
			storetest.Each(t, "inbound_race", func(t *testing.T, st *store.Store) {
				seed(t, st, all)
				c := newClock()
				remote := newRemote(c)
				for i, data := range contents {
					name := fmt.Sprintf("cancellations_%d.csv", i)
					remote.write(name, data)
					remote.write(name+".done", "")
				}
				var reports [2][]FileReport
				var wg sync.WaitGroup
				for i := range 2 {
					opt := Options{Now: c.Now, TempDir: t.TempDir(), ChunkRows: 9}
					if claims {
						n, err := cluster.Join(context.Background(), st, cluster.Options{Heartbeat: time.Second, DeadAfter: 5 * time.Second})
						if err != nil {
							t.Fatal(err)
						}
						opt.Claims = n
					}
					p, err := New(context.Background(), st, Spec{Name: "tuotempo-cancellations", Pattern: "cancellations_*.csv",
						DoneMarker: ".done", Mapping: cancellationMapping(t)}, opt)
					if err != nil {
						t.Fatal(err)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 4 {
							rep, err := p.Poll(context.Background(), remote)
							if err != nil {
								t.Errorf("Poll: %v", err)
								return
							}
							reports[i] = append(reports[i], rep.Files...)
						}
					}()
				}
				wg.Wait()
				applied := map[string]int{}
				for _, rs := range reports {
					for _, f := range rs {
						if f.Err != nil {
							t.Errorf("%s: %v", f.Path, f.Err)
						}
						if !f.Recovered {
							applied[f.Path]++
						}
					}
				}
				ent, err := ledger.List(context.Background(), st, ledger.Filter{Direction: ledger.In})
				if err != nil {
					t.Fatal(err)
				}
				if len(ent) != files {
					t.Errorf("%d ledger entries, want %d: %+v", len(ent), files, ent)
				}
				for i := range files {
					name := fmt.Sprintf("cancellations_%d.csv", i)
					if applied[name] != 1 {
						t.Errorf("%s applied %d times", name, applied[name])
					}
					if remote.has(name) || !remote.has("processed/"+name) {
						t.Errorf("%s not moved once to processed/", name)
					}
				}
				for _, id := range all {
					_, v, err := st.GetResource(context.Background(), "Appointment", id)
					if err != nil || v != 2 {
						t.Fatalf("Appointment %s at version %d (%v), want 2", id, v, err)
					}
				}
			})
		})
	}
}

// FuzzCheckpointState: any ledger state either reads back into counts in
// range or is refused; what encodeState writes reads back the same.
func FuzzCheckpointState(f *testing.F) {
	f.Add(encodeState(&FileReport{RowsOK: 3, RowsFailed: 1, Failed: []LineError{{Line: 4, Reason: "no stored Appointment"}}, Cancelled: []string{"a1"}, CancelledCount: 1, Updated: 2}))
	f.Add(`{"rows_ok":-1}`)
	f.Add(`{"failed":[{"Line":2}]`)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var fr FileReport
		if err := decodeState(s, &fr); err != nil {
			return
		}
		if fr.RowsOK < 0 || fr.RowsFailed < 0 || len(fr.Failed) > MaxListed || len(fr.Cancelled) > MaxListed {
			t.Fatalf("out of range: %+v", fr)
		}
		var back FileReport
		if err := decodeState(encodeState(&fr), &back); err != nil || !reflect.DeepEqual(normal(back), normal(fr)) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, fr)
		}
	})
}

// normal makes empty lists nil, as JSON round trips them.
func normal(fr FileReport) FileReport {
	if len(fr.Failed) == 0 {
		fr.Failed = nil
	}
	if len(fr.Cancelled) == 0 {
		fr.Cancelled = nil
	}
	return fr
}
