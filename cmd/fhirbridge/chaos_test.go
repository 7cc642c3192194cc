//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// chaosSettings bound a chaos run; chaosFromEnv reads them.
type chaosSettings struct {
	duration time.Duration // the kill phase
	cycles   int           // kills, spread evenly over duration
	drain    time.Duration // how long the cluster may take to finish afterwards
	every    time.Duration // one new Bundle every
	seed     int64
}

// chaosFromEnv reads FHIRBRIDGE_CHAOS_DURATION (default 3m),
// FHIRBRIDGE_CHAOS_CYCLES (default 30), FHIRBRIDGE_CHAOS_DRAIN (default
// 2m), FHIRBRIDGE_CHAOS_BUNDLE_EVERY (default 200ms) and
// FHIRBRIDGE_CHAOS_SEED (default: the clock).
func chaosFromEnv(t *testing.T) chaosSettings {
	t.Helper()
	s := chaosSettings{duration: 3 * time.Minute, cycles: 30, drain: 2 * time.Minute, every: 200 * time.Millisecond, seed: time.Now().UnixNano()}
	dur := func(key string, into *time.Duration) {
		if v := os.Getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 3m", key, v)
			}
			*into = d
		}
	}
	dur("FHIRBRIDGE_CHAOS_DURATION", &s.duration)
	dur("FHIRBRIDGE_CHAOS_DRAIN", &s.drain)
	dur("FHIRBRIDGE_CHAOS_BUNDLE_EVERY", &s.every)
	if v := os.Getenv("FHIRBRIDGE_CHAOS_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("FHIRBRIDGE_CHAOS_CYCLES=%q: want a positive count", v)
		}
		s.cycles = n
	}
	if v := os.Getenv("FHIRBRIDGE_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("FHIRBRIDGE_CHAOS_SEED=%q: %v", v, err)
		}
		s.seed = n
	}
	return s
}

// TestChaosCluster is issue 17's chaos test on a real cluster: three
// `fhirbridge serve` processes on one throwaway PostgreSQL database, one
// config file (each replica gets its own port and data folder through
// FHIRBRIDGE_SERVER__LISTEN and FHIRBRIDGE_DATA_DIR).
//
//   - A client posts transaction Bundles (Patient + Appointment, unique
//     Bundle.identifier) round-robin over the replicas and retries each on a
//     connection error, 429 or 5xx against the next one until it is
//     acknowledged.
//   - Patients and Appointments are delivered to a Solo simulator in the
//     test process (it survives the kills and counts every create).
//   - A tuOtempO export runs every minute ("* * * * *", UTC) to a local
//     remote folder whose renames are counted (inotify), and a
//     cancellation-file job polls its in/ folder, where the test drops one
//     file per acknowledged Appointment it cancels.
//   - A killer SIGKILLs one replica every duration/cycles, rotating, and
//     restarts it at once (one replica down at a time, two always up).
//
// Then the killing stops, the cluster drains (bounded), every replica is
// stopped, and the invariants are checked: every acknowledged Bundle's
// Patient and Appointment created exactly once at the vendor (lost = 0,
// duplicates = 0) and nothing left in the queue; every export slot of the
// run uploaded once (a second upload is tolerated only when a replica was
// killed between the slot's time and its ledger entry: the upload and its
// record cannot be one atomic step) and recorded once in the ledger; every
// cancellation file applied once (one ledger entry, one new Appointment
// version, moved to processed/, the cancellation at the vendor).
//
// Recovery time is measured per kill as the time from the kill until
// every delivery job in flight right after it (the dead replica's, whose
// lease it can no longer renew, and the survivors'; not those an earlier
// kill left in flight) is delivered. Kills that found nothing new in
// flight are counted, not timed; kills whose jobs were still not
// delivered when the replicas stopped count as unrecovered, with the
// longest such wait.
//
// It runs only with FHIRBRIDGE_CHAOS=1 (see chaosFromEnv for the knobs);
// FHIRBRIDGE_CHAOS_SEED replays the simulator's delays.
func TestChaosCluster(t *testing.T) {
	if os.Getenv("FHIRBRIDGE_CHAOS") != "1" {
		t.Skip("the chaos test runs with FHIRBRIDGE_CHAOS=1 (a few minutes, three serve processes on PostgreSQL)")
	}
	cs := chaosFromEnv(t)
	t.Logf("chaos settings: duration %s, %d kill cycles, drain %s, one Bundle every %s, seed %d (FHIRBRIDGE_CHAOS_SEED=%d replays the simulator's delays)",
		cs.duration, cs.cycles, cs.drain, cs.every, cs.seed, cs.seed)
	ctx := context.Background()
	dir := t.TempDir()

	dbURL := pgtest.CreateDatabase(t, pgtest.Start(t), "chaos")
	bin := buildBinary(t)

	// the vendor: Solo, slow enough that kills land between its commit
	// and the bridge's mark-done
	sim := solosim.New(solosim.Options{APIKey: "k-chaos", WaitingRooms: []string{"Telehealth"}})
	rng := &chaosRand{r: rand.New(rand.NewSource(cs.seed))}
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(rng.duration(40 * time.Millisecond))
		sim.ServeHTTP(w, r)
		time.Sleep(rng.duration(300 * time.Millisecond))
	}))
	defer simSrv.Close()

	remote := filepath.Join(dir, "remote")
	inDir := filepath.Join(remote, "in")
	if err := os.MkdirAll(inDir, 0o700); err != nil {
		t.Fatal(err)
	}
	renames, err := watchRenames(remote)
	if err != nil {
		t.Fatal(err)
	}
	defer renames.Close()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(`database: {url: "`+dbURL+`"}
connectors:
  solo: {base_url: "`+simSrv.URL+`", api_key: {env: CHAOS_SOLO_KEY}, timeout: 5s}
  tuotempo:
    remote: {kind: local, dir: `+remote+`}
    exports:
      - {name: chaos-export, schedule: "* * * * *", timezone: UTC}
    cancellations:
      - {name: chaos-cancels, dir: in, every: 1s, min_age: 1s}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CHAOS_SOLO_KEY=k-chaos"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FHIRBRIDGE_") {
			env = append(env, kv)
		}
	}
	var replicas []*chaosReplica
	for i := range 3 {
		replicas = append(replicas, newChaosReplica(t, dir, fmt.Sprintf("replica-%d", i+1), bin, cfg, env))
	}
	failed := false
	defer func() {
		for _, r := range replicas {
			r.stop(5 * time.Second)
			if failed || t.Failed() {
				t.Logf("log of %s (tail):\n%s", r.name, r.logTail(8000))
			}
		}
	}()
	// a cold start of the whole cluster at once, migrations included
	for _, r := range replicas {
		if err := r.start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range replicas {
		if err := r.waitReady(60 * time.Second); err != nil {
			t.Fatal(errNotReady(r, err))
		}
	}
	clusterReady := time.Now()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("opening the cluster's store: %v", err)
	}
	defer st.Close()

	// the client: a new Bundle every cs.every, each posted until acknowledged
	var bases []string
	for _, r := range replicas {
		bases = append(bases, r.base())
	}
	apptStart := clusterReady.Truncate(time.Minute).Add(2 * time.Hour)
	client := newChaosClient(bases, func(n int) []byte { return chaosBundle(n, apptStart.Add(time.Duration(n)*time.Minute)) })
	stopPosting := make(chan struct{})
	var posting sync.WaitGroup
	posting.Add(1)
	go func() {
		defer posting.Done()
		tick := time.NewTicker(cs.every)
		defer tick.Stop()
		for n := 0; ; n++ {
			posting.Add(1)
			go func() { defer posting.Done(); client.post(n) }()
			select {
			case <-stopPosting:
				return
			case <-tick.C:
			}
		}
	}()

	// the canceller: one cancellation file for an acknowledged Appointment
	// twice per kill interval
	interval := cs.duration / time.Duration(cs.cycles)
	dropped := map[int]string{} // Bundle number → file name
	stopDropping := make(chan struct{})
	var dropping sync.WaitGroup
	dropping.Add(1)
	go func() {
		defer dropping.Done()
		tick := time.NewTicker(interval / 2)
		defer tick.Stop()
		for {
			select {
			case <-stopDropping:
				return
			case <-tick.C:
			}
			_, order := client.snapshot()
			for i := len(order) - 1; i >= 0; i-- {
				n := order[i]
				if _, done := dropped[n]; done {
					continue
				}
				name := fmt.Sprintf("cancellations_%d.csv", n)
				if err := dropFile(inDir, name, chaosCancelFile(n)); err != nil {
					t.Error(err)
					return
				}
				dropped[n] = name
				break
			}
		}
	}()

	// recovery: a poll of the queue for the jobs in flight at each kill
	var recMu sync.Mutex
	var recoveries []*chaosRecovery
	var samples, busySamples int // polls of the queue, and those that found jobs in flight
	stopWatching := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			recMu.Lock()
			if ids, err := jobsInFlight(ctx, st); err == nil {
				samples++
				if len(ids) > 0 {
					busySamples++
				}
			}
			for _, rc := range recoveries {
				if rc.done == 0 && len(rc.jobs) > 0 {
					if left, err := jobsNotDelivered(ctx, st, rc.jobs); err == nil && left == 0 {
						rc.done = time.Since(rc.at)
					}
				}
			}
			recMu.Unlock()
			select {
			case <-stopWatching:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// on a failure below, the background goroutines end before the test
	stopBackground := sync.OnceFunc(func() {
		close(stopPosting)
		close(stopDropping)
		dropping.Wait()
	})
	defer stopBackground()
	stopWatcher := sync.OnceFunc(func() { close(stopWatching); <-watchDone })
	defer stopWatcher()

	// the killer
	var kills []time.Time
	tracked := map[int64]bool{} // jobs in flight at an earlier kill
	killStart := time.Now()
	for cycle := range cs.cycles {
		next := killStart.Add(time.Duration(cycle+1) * interval)
		time.Sleep(time.Until(next)) // the kill schedule itself, not a wait for a condition
		r := replicas[cycle%len(replicas)]
		if !r.alive() {
			failed = true
			t.Fatalf("cycle %d: %s ended by itself before its kill", cycle+1, r.name)
		}
		if err := r.kill(); err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		kills = append(kills, at)
		inFlight, err := jobsInFlight(ctx, st)
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle+1, err)
		}
		// a job an earlier kill stranded is that kill's, not this one's
		var jobs []int64
		for _, id := range inFlight {
			if !tracked[id] {
				tracked[id] = true
				jobs = append(jobs, id)
			}
		}
		recMu.Lock()
		recoveries = append(recoveries, &chaosRecovery{replica: r.name, at: at, jobs: jobs})
		recMu.Unlock()
		if err := r.start(); err != nil {
			t.Fatal(err)
		}
		if err := r.waitReady(60 * time.Second); err != nil {
			failed = true
			t.Fatal(errNotReady(r, err))
		}
	}
	killEnd := time.Now()
	stopBackground()
	posting.Wait() // every Bundle acknowledged, refused or given up
	acked, _ := client.snapshot()
	t.Logf("kill phase over: %d kills in %s, %d Bundles acknowledged", len(kills), killEnd.Sub(killStart).Round(time.Millisecond), len(acked))

	// the expected export slots: every minute of the run after the cluster
	// was ready, up to the end of the kill phase
	var expectedSlots []time.Time
	for s := clusterReady.Truncate(time.Minute).Add(time.Minute); !s.After(killEnd); s = s.Add(time.Minute) {
		expectedSlots = append(expectedSlots, s)
	}

	// drain: everything acknowledged reaches the vendor, the queue
	// empties, the files are applied and moved, the expected slots are
	// uploaded; then the vendor's request log stays still for 3 s
	drainStart := time.Now()
	drained := waitUntil(cs.drain, 200*time.Millisecond, func() bool {
		return chaosDrained(ctx, st, sim, acked, dropped, inDir, renames, expectedSlots) == ""
	})
	if !drained {
		t.Errorf("not drained after %s: %s", cs.drain, chaosDrained(ctx, st, sim, acked, dropped, inDir, renames, expectedSlots))
	}
	lastN, since := -1, time.Now()
	quiet := waitUntil(15*time.Second, 100*time.Millisecond, func() bool {
		if n := len(sim.Requests()); n != lastN {
			lastN, since = n, time.Now()
		}
		return time.Since(since) >= 3*time.Second
	})
	drainTook := time.Since(drainStart)
	stopAt := time.Now()
	for _, r := range replicas {
		if !r.stop(15 * time.Second) {
			t.Errorf("%s did not stop within 15 s of SIGTERM", r.name)
		}
	}
	stopWatcher()
	if !quiet {
		t.Errorf("the vendor kept receiving requests after the drain")
	}

	// the checks
	fig := chaosFigures{cycles: len(kills), duration: killEnd.Sub(killStart), drain: drainTook}
	fig.checkBundles(t, client, acked, sim)
	fig.checkQueue(ctx, t, st)
	fig.checkExports(ctx, t, st, renames, expectedSlots, kills, stopAt)
	fig.checkFiles(ctx, t, st, sim, dropped, inDir)
	fig.recovery(recoveries)
	var perKill []string
	for _, rc := range recoveries {
		took := "not recovered"
		if len(rc.jobs) == 0 {
			took = "nothing in flight"
		} else if rc.done > 0 {
			took = rc.done.Round(time.Millisecond).String()
		}
		perKill = append(perKill, fmt.Sprintf("%s at +%s, %d jobs in flight: %s", rc.replica, rc.at.Sub(killStart).Round(time.Second), len(rc.jobs), took))
	}
	t.Logf("kills: %s", strings.Join(perKill, "; "))
	t.Logf("the queue had jobs in flight in %d of %d polls (every 100 ms)", busySamples, samples)
	failed = t.Failed()
	t.Log(fig.String())
}

// jobsInFlight lists the delivery jobs in flight now.
func jobsInFlight(ctx context.Context, st *store.Store) ([]int64, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT id FROM delivery_jobs WHERE state = 'in_flight'`)
	if err != nil {
		return nil, fmt.Errorf("listing jobs in flight: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("listing jobs in flight: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// jobsNotDelivered counts the jobs of ids not delivered yet.
func jobsNotDelivered(ctx context.Context, st *store.Store, ids []int64) (int, error) {
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	var n int
	err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM delivery_jobs WHERE state <> 'delivered' AND id IN (`+strings.Join(list, ",")+`)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting undelivered jobs: %w", err)
	}
	return n, nil
}

// chaosDrained returns what the cluster has not finished yet, or "".
func chaosDrained(ctx context.Context, st *store.Store, sim *solosim.Sim, acked map[int]chaosAck, dropped map[int]string,
	inDir string, renames *renameLog, slots []time.Time) string {
	var open int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM delivery_jobs WHERE state IN ('pending', 'in_flight')`).Scan(&open); err != nil {
		return fmt.Sprintf("counting open jobs: %v", err)
	}
	if open > 0 {
		return fmt.Sprintf("%d delivery jobs pending or in flight", open)
	}
	pats, appts := soloCreates(sim)
	for n := range acked {
		if pats[fmt.Sprintf("chaos-pat-%d", n)] == 0 || appts[fmt.Sprintf("chaos-appt-%d", n)] == 0 {
			return fmt.Sprintf("Bundle %d not at the vendor", n)
		}
	}
	for _, name := range dropped {
		if _, err := os.Stat(filepath.Join(inDir, name)); err == nil {
			return fmt.Sprintf("%s still in the inbound folder", name)
		}
	}
	counts, _ := renames.Counts()
	for _, s := range slots {
		if counts[chaosExportName(s)] == 0 {
			return fmt.Sprintf("export slot %s not uploaded", s.Format("15:04"))
		}
	}
	return ""
}

// soloCreates counts the Solo records per our id: patients by id,
// appointments by externalId (several = created several times).
func soloCreates(sim *solosim.Sim) (patients, appointments map[string]int) {
	patients, appointments = map[string]int{}, map[string]int{}
	for _, p := range sim.Patients() {
		patients[p.ID]++
	}
	for _, a := range sim.Appointments() {
		appointments[a.ExternalID]++
	}
	return patients, appointments
}

// chaosExportName is the export file of slot at (the job's pattern,
// appointments_{time}.csv, with the slot's time in UTC).
func chaosExportName(at time.Time) string {
	return "appointments_" + at.UTC().Format("20060102T1504") + ".csv"
}

// chaosFigures are the measured results the test prints in one line.
type chaosFigures struct {
	cycles                int
	duration, drain       time.Duration
	acked, retried        int
	delivered, duplicates int
	lost                  int
	queueLeft             int
	slots, missingSlots   int
	duplicateUploads      int
	reuploadsAfterKill    int
	ledgerDuplicates      int
	filesDropped          int
	filesApplied          int
	filesAppliedTwice     int
	filesNotApplied       int
	recP50, recMax        time.Duration
	recTimed, recUntimed  int
	recUnrecovered        int
	recUnrecoveredAtLeast time.Duration
	ackP50, ackMax        time.Duration
}

// String is the fixed-format line the README quotes.
func (f chaosFigures) String() string {
	return fmt.Sprintf("chaos figures: replicas=3 cycles=%d kill_phase=%s bundles_acked=%d posts_retried=%d resources_delivered=%d duplicates=%d lost=%d queue_left=%d "+
		"export_slots=%d duplicate_uploads=%d reuploads_after_kill=%d ledger_duplicates=%d missing_slots=%d "+
		"files_dropped=%d files_applied_once=%d files_applied_twice=%d files_not_applied=%d "+
		"recovery_p50=%s recovery_max=%s kills_timed=%d kills_nothing_in_flight=%d kills_unrecovered=%d (in flight >= %s) ack_p50=%s ack_max=%s drain=%s",
		f.cycles, f.duration.Round(time.Second), f.acked, f.retried, f.delivered, f.duplicates, f.lost, f.queueLeft,
		f.slots, f.duplicateUploads, f.reuploadsAfterKill, f.ledgerDuplicates, f.missingSlots,
		f.filesDropped, f.filesApplied, f.filesAppliedTwice, f.filesNotApplied,
		f.recP50.Round(time.Millisecond), f.recMax.Round(time.Millisecond), f.recTimed, f.recUntimed, f.recUnrecovered, f.recUnrecoveredAtLeast.Round(time.Second),
		f.ackP50.Round(time.Millisecond), f.ackMax.Round(time.Millisecond), f.drain.Round(time.Second))
}

// checkBundles: every acknowledged Bundle's Patient and Appointment
// created exactly once at the vendor; no Bundle refused or given up.
func (f *chaosFigures) checkBundles(t *testing.T, c *chaosClient, acked map[int]chaosAck, sim *solosim.Sim) {
	t.Helper()
	c.mu.Lock()
	refused, unacked := append([]string(nil), c.refused...), append([]int(nil), c.unacked...)
	f.retried = c.retries
	c.mu.Unlock()
	if len(refused) > 0 {
		t.Errorf("%d Bundles refused (a retry cannot fix these): %v", len(refused), refused[:min(10, len(refused))])
	}
	if len(unacked) > 0 {
		t.Errorf("%d Bundles never acknowledged within %s of retries: %v", len(unacked), c.giveUp, unacked[:min(10, len(unacked))])
	}
	f.acked = len(acked)
	pats, appts := soloCreates(sim)
	var ackTimes []time.Duration
	var lostIDs, dupIDs []string
	for n, a := range acked {
		ackTimes = append(ackTimes, a.acked.Sub(a.firstTry))
		for _, id := range []string{fmt.Sprintf("chaos-pat-%d", n), fmt.Sprintf("chaos-appt-%d", n)} {
			got := pats[id]
			if strings.Contains(id, "appt") {
				got = appts[id]
			}
			switch {
			case got == 0:
				f.lost++
				lostIDs = append(lostIDs, id)
			case got > 1:
				f.delivered++
				f.duplicates += got - 1
				dupIDs = append(dupIDs, fmt.Sprintf("%s×%d", id, got))
			default:
				f.delivered++
			}
		}
	}
	sort.Strings(lostIDs)
	sort.Strings(dupIDs)
	if f.lost > 0 {
		t.Errorf("lost: %d acknowledged resources never created at the vendor, e.g. %v", f.lost, lostIDs[:min(10, len(lostIDs))])
	}
	if f.duplicates > 0 {
		t.Errorf("duplicates: %d extra creates at the vendor, e.g. %v", f.duplicates, dupIDs[:min(10, len(dupIDs))])
	}
	slices.Sort(ackTimes)
	f.ackP50, f.ackMax = percentile(ackTimes, 0.5), percentile(ackTimes, 1)
}

// checkQueue: nothing pending, in flight or dead-lettered.
func (f *chaosFigures) checkQueue(ctx context.Context, t *testing.T, st *store.Store) {
	t.Helper()
	rows, err := st.DB().QueryContext(ctx, `SELECT state, count(*) FROM delivery_jobs WHERE state <> 'delivered' GROUP BY state ORDER BY state`)
	if err != nil {
		t.Errorf("reading the queue: %v", err)
		return
	}
	defer rows.Close()
	var left []string
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			t.Errorf("reading the queue: %v", err)
			return
		}
		f.queueLeft += n
		left = append(left, fmt.Sprintf("%d %s", n, state))
	}
	if len(left) > 0 {
		t.Errorf("delivery jobs left undelivered: %s", strings.Join(left, ", "))
	}
}

// checkExports: each export slot of the run uploaded once (renames into
// the remote folder) and recorded once (ledger entries out, ok or
// partial, and one export_slots row). Slots up to 15 s before the
// replicas were stopped are judged: a later one may have been cut short
// by the stop.
func (f *chaosFigures) checkExports(ctx context.Context, t *testing.T, st *store.Store, renames *renameLog, expected, kills []time.Time, stopAt time.Time) {
	t.Helper()
	counts, err := renames.Counts()
	if err != nil {
		t.Errorf("the remote's rename log is incomplete: %v", err)
	}
	type slotLedger struct {
		ok    int
		first time.Time // the first ok entry
	}
	ledger := map[string]*slotLedger{}
	rows, err := st.DB().QueryContext(ctx, `SELECT path, outcome, at FROM file_ledger WHERE direction = 'out' AND job = 'chaos-export' ORDER BY id`)
	if err != nil {
		t.Errorf("reading the file ledger: %v", err)
		return
	}
	for rows.Next() {
		var path, outcome string
		var at int64
		if err := rows.Scan(&path, &outcome, &at); err != nil {
			t.Errorf("reading the file ledger: %v", err)
			rows.Close()
			return
		}
		l := ledger[path]
		if l == nil {
			l = &slotLedger{}
			ledger[path] = l
		}
		if outcome == "ok" || outcome == "partial" {
			if l.ok == 0 {
				l.first = time.UnixMicro(at)
			}
			l.ok++
		}
	}
	rows.Close()
	var slotRows int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM export_slots WHERE job = 'chaos-export'`).Scan(&slotRows); err != nil {
		t.Errorf("counting export slots: %v", err)
	}
	// the slots to judge: expected, uploaded or recorded, old enough
	slots := map[string]time.Time{}
	add := func(name string) {
		stamp, ok := strings.CutPrefix(name, "appointments_")
		stamp, ok2 := strings.CutSuffix(stamp, ".csv")
		at, err := time.Parse("20060102T1504", stamp)
		if ok && ok2 && err == nil && at.Before(stopAt.Add(-15*time.Second)) {
			slots[name] = at
		}
	}
	for _, s := range expected {
		add(chaosExportName(s))
	}
	for name := range counts {
		add(name)
	}
	for name := range ledger {
		add(name)
	}
	names := make([]string, 0, len(slots))
	for name := range slots {
		names = append(names, name)
	}
	sort.Strings(names)
	f.slots = len(names)
	var report []string
	for _, name := range names {
		uploads, l := counts[name], ledger[name]
		if l == nil {
			l = &slotLedger{}
		}
		report = append(report, fmt.Sprintf("%s: %d uploads, %d recorded", strings.TrimSuffix(strings.TrimPrefix(name, "appointments_"), ".csv"), uploads, l.ok))
		killedMidway := false
		for _, k := range kills {
			if !k.Before(slots[name]) && (l.ok == 0 || !k.After(l.first)) {
				killedMidway = true
			}
		}
		switch {
		case uploads == 0:
			f.missingSlots++
			t.Errorf("export slot %s never uploaded", name)
		case uploads == 2 && killedMidway:
			f.reuploadsAfterKill++ // the first uploader died before its ledger entry
		case uploads > 1:
			f.duplicateUploads += uploads - 1
			t.Errorf("export slot %s uploaded %d times", name, uploads)
		}
		switch {
		case l.ok == 0 && uploads > 0:
			t.Errorf("export slot %s uploaded but never recorded in the ledger", name)
		case l.ok > 1:
			f.ledgerDuplicates += l.ok - 1
			t.Errorf("export slot %s recorded %d times in the ledger", name, l.ok)
		}
	}
	t.Logf("export slots: %s; %d export_slots rows", strings.Join(report, "; "), slotRows)
}

// checkFiles: each dropped cancellation file applied exactly once (one
// ledger entry in, outcome ok), moved to processed/, its Appointment
// changed by one new version and cancelled at the vendor.
func (f *chaosFigures) checkFiles(ctx context.Context, t *testing.T, st *store.Store, sim *solosim.Sim, dropped map[int]string, inDir string) {
	t.Helper()
	f.filesDropped = len(dropped)
	entries := map[string][]string{} // base name → outcomes
	rows, err := st.DB().QueryContext(ctx, `SELECT path, outcome FROM file_ledger WHERE direction = 'in' AND job = 'chaos-cancels'`)
	if err != nil {
		t.Errorf("reading the file ledger: %v", err)
		return
	}
	for rows.Next() {
		var path, outcome string
		if err := rows.Scan(&path, &outcome); err != nil {
			t.Errorf("reading the file ledger: %v", err)
			rows.Close()
			return
		}
		entries[filepath.Base(path)] = append(entries[filepath.Base(path)], outcome)
	}
	rows.Close()
	status := map[string]string{}
	for _, a := range sim.Appointments() {
		status[a.ExternalID] = a.Status
	}
	for n, name := range dropped {
		appt := fmt.Sprintf("chaos-appt-%d", n)
		ok := 0
		for _, o := range entries[name] {
			if o == "ok" {
				ok++
			}
		}
		switch {
		case ok == 1 && len(entries[name]) == 1:
			f.filesApplied++
		case ok > 1:
			f.filesAppliedTwice++
			t.Errorf("%s applied %d times (ledger outcomes %v)", name, ok, entries[name])
		default:
			f.filesNotApplied++
			t.Errorf("%s not applied once: ledger outcomes %v", name, entries[name])
		}
		if _, err := os.Stat(filepath.Join(inDir, "processed", name)); err != nil {
			t.Errorf("%s not in processed/: %v", name, err)
		}
		if c, err := cancellations(ctx, st, appt); err != nil {
			t.Error(err)
		} else if c != 1 {
			t.Errorf("Appointment %s changed to cancelled %d times in its history after one cancellation file, want 1", appt, c)
		}
		if s := status[appt]; s != "cancelled" {
			t.Errorf("Appointment %s is %q at the vendor after its cancellation file, want cancelled", appt, s)
		}
	}
}

// recovery summarises the kills' recovery times.
func (f *chaosFigures) recovery(recs []*chaosRecovery) {
	var times []time.Duration
	for _, rc := range recs {
		switch {
		case len(rc.jobs) == 0:
			f.recUntimed++
		case rc.done == 0:
			f.recUnrecovered++
			f.recUnrecoveredAtLeast = max(f.recUnrecoveredAtLeast, time.Since(rc.at))
		default:
			f.recTimed++
			times = append(times, rc.done)
		}
	}
	slices.Sort(times)
	f.recP50, f.recMax = percentile(times, 0.5), percentile(times, 1)
}

// cancellations counts the versions of Appointment id that changed its
// status to cancelled (one per applied cancellation; the vendor's
// write-backs add versions that keep the status).
func cancellations(ctx context.Context, st *store.Store, id string) (int, error) {
	hist, err := st.History(ctx, "Appointment", id)
	if err != nil {
		return 0, err
	}
	n, prev := 0, ""
	for i := len(hist) - 1; i >= 0; i-- { // oldest first
		var a struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(hist[i].Body, &a); err != nil {
			return 0, fmt.Errorf("decoding version %d of Appointment %s: %w", hist[i].Version, id, err)
		}
		if a.Status == "cancelled" && prev != "cancelled" {
			n++
		}
		prev = a.Status
	}
	return n, nil
}
