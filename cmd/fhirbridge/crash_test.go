package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestCrashSafetySIGKILL is RELIABILITY §1, §2, §11 and §14 end to end
// (issue 3: "the bridge killed with SIGKILL at random points while Bundles
// are posted and delivered, then restarted, many times").
//
// It builds the real binary and runs `fhirbridge serve` as a child process
// against a Solo simulator that lives in the test process (so the vendor's
// state survives the bridge's deaths). Each round starts serve, hands a
// batch of new transaction Bundles (one Patient pat-N + one Appointment
// appt-N referencing it by urn:uuid) to clients that retry every Bundle
// until it is answered 200 — at-least-once, like an interface engine — and
// SIGKILLs serve at a random moment, while it is ingesting, delivering, or
// both. Before each restart the leases of the dead process's in-flight jobs
// are expired in the database (the clock jump a 5-minute lease would need;
// no live worker holds them, the process is gone), so re-claims happen in
// the test's time. After the last round serve runs until every Bundle is
// acknowledged and the queue is quiet, then the ledger is checked:
//
//   - every acknowledged Bundle has its Patient and Appointment stored, one
//     delivery job each, delivered; nothing pending, in flight or dead;
//   - the simulator holds exactly one patient per acknowledged Bundle (id
//     pat-N) and exactly one appointment (externalId appt-N, under pat-N),
//     nothing else; its request log shows one successful patient create per
//     patient and one appointment create per appointment;
//   - the crosswalk maps pat-N to pat-N and appt-N to that appointment's SAID.
//
// CRASH_SEED=<n> replays a run (the seed is logged).
func TestCrashSafetySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds the binary and kills it many times; skipped with -short")
	}
	const (
		rounds    = 12
		perRound  = 12
		clients   = 4
		maxKillAt = 2500 * time.Millisecond
	)
	seed := time.Now().UnixNano()
	if s := os.Getenv("CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (CRASH_SEED=%d replays the kill timings)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	start := time.Now()

	dir := t.TempDir()
	bin := buildBinary(t)
	t.Logf("built in %s", time.Since(start).Round(time.Millisecond))

	sim := solosim.New(solosim.Options{APIKey: "k-crash", WaitingRooms: []string{"General Practice", "Telehealth"}})
	// Solo answers slowly, and most of the wait comes after it has stored
	// the record, so that kills often land between the vendor's commit and
	// the bridge's mark-done (the window lookup-before-create exists for).
	var delayMu sync.Mutex
	delayRng := rand.New(rand.NewSource(seed + 1))
	delay := func(max time.Duration) time.Duration {
		delayMu.Lock()
		defer delayMu.Unlock()
		return time.Duration(delayRng.Int63n(int64(max)))
	}
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay(40 * time.Millisecond))
		sim.ServeHTTP(w, r) // the answer stays buffered until we return
		time.Sleep(delay(250 * time.Millisecond))
	}))
	defer simSrv.Close()

	addr := freeAddr(t)
	base := "http://" + addr
	dataDir := filepath.Join(dir, "data")
	dbPath := filepath.Join(dataDir, "fhirbridge.db")
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+dataDir+`
server: {listen: "`+addr+`"}
connectors:
  solo: {base_url: "`+simSrv.URL+`", api_key: {env: CRASH_SOLO_KEY}, timeout: 5s}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CRASH_SOLO_KEY=k-crash"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FHIRBRIDGE_") {
			env = append(env, kv)
		}
	}
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	dumpLog := func() {
		b, _ := os.ReadFile(logPath)
		if len(b) > 20000 {
			b = b[len(b)-20000:]
		}
		t.Logf("serve output (tail):\n%s", b)
	}

	startServe := func() *exec.Cmd {
		t.Helper()
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting serve: %v", err)
		}
		return cmd
	}
	waitReady := func(cmd *exec.Cmd) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := http.Get(base + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		dumpLog()
		t.Fatalf("serve not ready after 20 s")
	}

	// The clients: each Bundle is posted until it is answered 200.
	type ack struct {
		n    int
		body []byte
	}
	work := make(chan int, rounds*perRound)
	acks := make(chan ack, rounds*perRound)
	var failedPosts, non200 sync.Map // for the report
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hc := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				body := crashBundle(n)
				for tries := 1; ; tries++ {
					if ctx.Err() != nil {
						return
					}
					resp, err := hc.Post(base+"/fhir", "application/fhir+json", bytes.NewReader(body))
					if err != nil {
						failedPosts.Store(n, tries)
						time.Sleep(30 * time.Millisecond)
						continue
					}
					rb, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						acks <- ack{n, rb}
						break
					}
					non200.Store(fmt.Sprintf("%d-%d", n, tries), fmt.Sprintf("%d %.200s", resp.StatusCode, rb))
					time.Sleep(30 * time.Millisecond)
				}
			}
		}()
	}

	countInFlight := func() int64 {
		t.Helper()
		st, err := store.Open(context.Background(), "sqlite://"+dbPath)
		if err != nil {
			t.Fatalf("opening the store between runs: %v", err)
		}
		defer st.Close()
		// serve recovers these at start-up (an SQLite store has one
		// process); count them only, to report how many kills caught a
		// delivery in flight
		var n int64
		if err := st.DB().QueryRow(`SELECT count(*) FROM delivery_jobs WHERE state = ?`, delivery.StateInFlight).Scan(&n); err != nil {
			t.Fatalf("counting in-flight jobs: %v", err)
		}
		return n
	}

	next := 0
	var stranded int64
	kills := 0
	for round := 1; round <= rounds; round++ {
		cmd := startServe()
		waitReady(cmd)
		killAt := time.Duration(rng.Int63n(int64(maxKillAt)))
		// new Bundles arrive spread over the round, so kills also land
		// inside ingest transactions and between commit and reply
		gaps := make([]time.Duration, perRound)
		for i := range gaps {
			gaps[i] = time.Duration(rng.Int63n(int64(maxKillAt / perRound)))
		}
		go func(first int) {
			for i, g := range gaps {
				time.Sleep(g)
				work <- first + i
			}
		}(next)
		next += perRound
		time.Sleep(killAt)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("round %d: SIGKILL: %v", round, err)
		}
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			dumpLog()
			t.Fatalf("round %d: serve ended by itself before the kill: %v", round, cmd.ProcessState)
		}
		kills++
		inFlight := countInFlight()
		stranded += inFlight // a job still in flight from an earlier kill counts again
		t.Logf("round %d: killed %s after ready; %d acked so far, sim has %d patients / %d appointments, %d jobs left in flight",
			round, killAt.Round(time.Millisecond), len(acks), len(sim.Patients()), len(sim.Appointments()), inFlight)
	}

	// The last run: everything must get acknowledged and delivered.
	cmd := startServe()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	waitReady(cmd)
	total := next
	acked := map[int][]byte{}
	deadline := time.After(45 * time.Second)
	for len(acked) < total {
		select {
		case a := <-acks:
			acked[a.n] = a.body
		case <-deadline:
			dumpLog()
			t.Fatalf("only %d of %d Bundles acknowledged after the last restart", len(acked), total)
		}
	}
	cancel()
	close(work) // every Bundle has been handed out, or it could not be acked
	wg.Wait()

	// Quiescence: the simulator's counts stop changing for a while with
	// everything there (or the deadline passes and the checks below say why).
	stableSince, last := time.Now(), -1
	quietDeadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(quietDeadline) {
		n := len(sim.Requests())
		if n != last {
			stableSince, last = time.Now(), n
		}
		if len(sim.Patients()) >= total && len(sim.Appointments()) >= total && time.Since(stableSince) > 1500*time.Millisecond {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}

	// Ledger check, store side.
	st, err := store.Open(context.Background(), "sqlite://"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := delivery.NewQueue(st).List(context.Background(), delivery.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	failed := false
	fail := func(format string, args ...any) {
		failed = true
		t.Errorf(format, args...)
	}
	jobsOf := map[string]int{}
	maxAttempts := 0
	for _, j := range jobs {
		jobsOf[j.ResourceType+"/"+j.ResourceID]++
		maxAttempts = max(maxAttempts, j.Attempts)
		if j.State != delivery.StateDelivered {
			fail("job %d (%s %s/%s) is %s: %s", j.ID, j.Flow, j.ResourceType, j.ResourceID, j.State, j.LastError)
		}
	}
	if len(jobs) != 2*total {
		fail("%d delivery jobs, want %d", len(jobs), 2*total)
	}
	// one remembered response per Bundle (a replay stores nothing new), two
	// stored resources per Bundle, and no orphan crosswalk row
	for table, want := range map[string]int{"requests": total, "resources": 2 * total, "crosswalk": 2 * total} {
		var n int
		if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			fail("counting %s: %v", table, err)
		} else if n != want {
			fail("%d rows in %s, want %d", n, table, want)
		}
	}

	// Ledger check, vendor side.
	patients := map[string]int{}
	for _, p := range sim.Patients() {
		patients[p.ID]++
	}
	appts := map[string][]solosim.Appointment{}
	for _, a := range sim.Appointments() {
		appts[a.ExternalID] = append(appts[a.ExternalID], a)
	}
	reqs := sim.Requests()
	patientCreates, apptCreates := 0, map[string]int{}
	lookups := map[string]int{} // non-fresh attempts: each starts with a lookup GET
	for _, r := range reqs {
		switch {
		case r.Method == "POST" && r.Path == "/qapi/v1/patients" && r.Status == 200:
			patientCreates++
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/appointments") && r.Status == 200:
			apptCreates[strings.TrimSuffix(strings.TrimPrefix(r.Path, "/qapi/v1/patients/"), "/appointments")]++
		case r.Method == "GET" && strings.HasPrefix(r.Path, "/qapi/v1/patients/"):
			lookups["Patient/"+strings.TrimPrefix(r.Path, "/qapi/v1/patients/")]++
		case r.Method == "GET" && strings.HasPrefix(r.Path, "/qapi/v1/appointments/") && !strings.HasSuffix(r.Path, "/video-call-links"):
			lookups["Appointment/"+strings.TrimPrefix(r.Path, "/qapi/v1/appointments/")]++
		}
	}
	maxRedelivery, redelivered := 0, 0
	for key, n := range lookups {
		maxRedelivery = max(maxRedelivery, n)
		if n > 0 && key != "" {
			redelivered++
		}
	}
	for n := range total {
		if _, ok := acked[n]; !ok {
			fail("Bundle %d was never acknowledged", n)
			continue
		}
		if !strings.Contains(string(acked[n]), "transaction-response") {
			fail("Bundle %d: acknowledged with %.200s", n, acked[n])
		}
		pat, appt := fmt.Sprintf("pat-%d", n), fmt.Sprintf("appt-%d", n)
		for _, id := range []string{"Patient/" + pat, "Appointment/" + appt} {
			typ, rid, _ := strings.Cut(id, "/")
			if _, _, err := st.GetResource(context.Background(), typ, rid); err != nil {
				fail("acknowledged %s is not in the store: %v", id, err)
			}
			if jobsOf[id] != 1 {
				fail("%s has %d delivery jobs, want 1", id, jobsOf[id])
			}
		}
		if patients[pat] != 1 {
			fail("Solo has %d patients with id %s, want 1", patients[pat], pat)
		}
		if len(appts[appt]) != 1 {
			fail("Solo has %d appointments with externalId %s, want 1", len(appts[appt]), appt)
		} else if a := appts[appt][0]; a.PatientID != pat || a.Status != "scheduled" || a.WaitingRoom != "Telehealth" {
			fail("Solo appointment %s: patient %s status %s room %q", appt, a.PatientID, a.Status, a.WaitingRoom)
		} else if said, err := st.VendorID(context.Background(), "solo", "Appointment", appt); err != nil || said != strconv.Itoa(a.SAID) {
			fail("crosswalk Appointment/%s → %q (%v), want SAID %d", appt, said, err, a.SAID)
		}
		if apptCreates[pat] != 1 {
			fail("the request log has %d appointment creates under %s, want 1", apptCreates[pat], pat)
		}
		if spid, err := st.VendorID(context.Background(), "solo", "Patient", pat); err != nil || spid != pat {
			fail("crosswalk Patient/%s → %q (%v)", pat, spid, err)
		}
	}
	if len(patients) != total || len(appts) != total {
		fail("Solo has %d distinct patients and %d distinct appointments, want %d each", len(patients), len(appts), total)
	}
	if patientCreates != total {
		fail("the request log has %d successful patient creates, want %d", patientCreates, total)
	}
	retried := 0
	failedPosts.Range(func(_, _ any) bool { retried++; return true })
	var odd []string
	non200.Range(func(k, v any) bool { odd = append(odd, fmt.Sprint(k, ": ", v)); return true })
	t.Logf("%d kills, %d Bundles acknowledged (%d needed a repost after a connection error), %d jobs found in flight after kills, %d non-200 answers %v",
		kills, len(acked), retried, stranded, len(odd), odd)
	t.Logf("Solo: %d requests, %d patients, %d appointments; %d records redelivered (looked up before create), max redeliveries of one record %d; max job attempts %d; %s in all",
		len(reqs), len(sim.Patients()), len(sim.Appointments()), redelivered, maxRedelivery, maxAttempts, time.Since(start).Round(time.Millisecond))
	if failed {
		dumpLog()
	}
}

// crashBundle is transaction Bundle n: Patient pat-n and Appointment appt-n
// (booked, 15 minutes, no serviceType so the route's waiting_room applies)
// referencing the Patient by urn:uuid, both PUT with client ids.
func crashBundle(n int) []byte {
	patURN := fmt.Sprintf("urn:uuid:6f1e0000-0000-4000-8000-%012d", 2*n)
	apptURN := fmt.Sprintf("urn:uuid:6f1e0000-0000-4000-8000-%012d", 2*n+1)
	start := time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC).Add(time.Duration(n) * 15 * time.Minute)
	return []byte(fmt.Sprintf(`{
  "resourceType": "Bundle",
  "type": "transaction",
  "identifier": {"system": "https://fhirbridge.test/crash-bundle", "value": "b-%[1]d"},
  "entry": [
    {"fullUrl": %[2]q,
     "resource": {"resourceType": "Patient", "id": "pat-%[1]d",
       "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "system": "https://fhirbridge.test/mrn", "value": "MRN-CRASH-%[1]d"}],
       "name": [{"use": "official", "family": "Crash%[1]d", "given": ["Test"]}],
       "gender": "other", "birthDate": "1970-01-01"},
     "request": {"method": "PUT", "url": "Patient/pat-%[1]d"}},
    {"fullUrl": %[3]q,
     "resource": {"resourceType": "Appointment", "id": "appt-%[1]d", "status": "booked",
       "start": %[4]q, "end": %[5]q,
       "participant": [{"actor": {"reference": %[2]q}, "status": "accepted"}]},
     "request": {"method": "PUT", "url": "Appointment/appt-%[1]d"}}
  ]
}`, n, patURN, apptURN, start.Format(time.RFC3339), start.Add(15*time.Minute).Format(time.RFC3339)))
}

// freeAddr returns a loopback address with a port free right now; serve
// binds it again on every restart.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
