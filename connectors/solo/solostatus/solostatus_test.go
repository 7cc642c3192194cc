package solostatus

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// storeURL is the database of a test: SQLite, PostgreSQL under TestPostgres.
var storeURL = func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "db.sqlite") }

// fixture is a simulator, a connector, a store and a Syncer over them.
type fixture struct {
	sim    *solosim.Sim
	simURL string
	st     *store.Store
	s      *Syncer
	// reopenURL opens the fixture's database again (a restart).
	reopenURL string
	clock     time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	conn, err := solo.New(solo.Config{BaseURL: srv.URL, APIKey: solosim.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	url := storeURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	status, enc, err := LoadMappings()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sim: sim, simURL: srv.URL, st: st, reopenURL: url, clock: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	t.Cleanup(func() { f.st.Close() })
	f.s = &Syncer{Store: st, Solo: conn, Status: status, Encounter: enc, Now: func() time.Time { return f.clock }}
	return f
}

// work drains the queue's due webhook events through a Runner, as serve's
// runner works them.
func (f *fixture) work(t *testing.T) {
	t.Helper()
	r, err := delivery.NewRunner(context.Background(), f.st, map[string]delivery.Flow{WebhookFlow: f.s.Flow()}, delivery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) simPost(t *testing.T, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", f.simURL+path, strings.NewReader(body))
	req.Header.Set("Api-Key", solosim.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST %s: %v %v", path, err, resp)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// appointment creates an appointment at Solo and, unless unlinked, its
// FHIR Appointment with the crosswalk link; it returns the SAID.
func (f *fixture) appointment(t *testing.T, fhirID string, linked bool) string {
	t.Helper()
	if len(f.sim.Patients()) == 0 {
		f.simPost(t, "/qapi/v1/patients", `{"id":"pat-1"}`)
	}
	a := f.simPost(t, "/qapi/v1/patients/pat-1/appointments", `{"waitingRoom":"Default Waiting Room Name 1","date":1796113800,"duration":900,"externalId":"`+fhirID+`"}`)
	said := strconv.Itoa(int(a["id"].(float64)))
	if linked {
		f.link(t, fhirID, said)
	}
	return said
}

func (f *fixture) link(t *testing.T, fhirID, said string) {
	t.Helper()
	err := f.st.InTx(context.Background(), func(tx *store.Tx) error {
		body := `{"resourceType":"Appointment","id":"` + fhirID + `","status":"booked","start":"2026-12-01T08:30:00Z","participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"}],"extension":[{"url":"urn:other","valueString":"kept"}]}`
		if _, _, err := tx.PutResource(context.Background(), "Appointment", fhirID, []byte(body)); err != nil {
			return err
		}
		return tx.LinkVendorID(context.Background(), "solo", "Appointment", fhirID, said)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) stored(t *testing.T, typ, id string) (map[string]any, int) {
	t.Helper()
	body, v, err := f.st.GetResource(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("%s/%s: %v", typ, id, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m, v
}

// TestStatusTable syncs every Solo status (and LWBS) through the simulator.
func TestStatusTable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	said := f.appointment(t, "appt-1", true)
	n, _ := strconv.Atoi(said)
	for _, tc := range []struct{ solo, video, appt, enc string }{
		{"scheduled", "", "booked", "planned"},
		{"arrived", "waiting", "arrived", "arrived"},
		{"arrived", "on call", "arrived", "in-progress"},
		{"in progress.intake.ready", "", "checked-in", "in-progress"},
		{"in progress.intake.progress", "", "checked-in", "in-progress"},
		{"in progress.exam.ready", "", "checked-in", "in-progress"},
		{"in progress.exam.progress", "", "checked-in", "in-progress"},
		{"discharge.ready", "", "checked-in", "in-progress"},
		{"discharge.progress", "", "checked-in", "in-progress"},
		{"completed", "complete", "fulfilled", "finished"},
		{"sign off", "", "fulfilled", "finished"},
		{"cancelled", "", "cancelled", "cancelled"},
		{"not showed up", "", "noshow", "cancelled"},
		{"completed", "LWBS", "fulfilled", "cancelled"},
	} {
		t.Run(tc.solo+"/"+tc.video, func(t *testing.T) {
			if _, err := f.sim.SetAppointmentStatus(n, tc.solo, tc.video); err != nil {
				t.Fatal(err)
			}
			if tc.video != "" && !simShowsVideoCall(t, f, said) {
				t.Skip("the simulator's GET /qapi/v1/appointments/{id} (solosim/api.go) does not report videoCall yet")
			}
			res, err := f.s.SyncAppointment(ctx, said)
			if err != nil {
				t.Fatal(err)
			}
			appt, _ := f.stored(t, "Appointment", "appt-1")
			if appt["status"] != tc.appt || res.Status != tc.appt {
				t.Errorf("Appointment.status %v, want %s", appt["status"], tc.appt)
			}
			if !strings.Contains(mustJSON(appt), `"urn:other"`) || !strings.Contains(mustJSON(appt), `"valueString":"`+tc.solo+`"`) {
				t.Errorf("extensions not merged: %s", mustJSON(appt))
			}
			enc, _ := f.stored(t, "Encounter", "solo-visit-"+said)
			if enc["status"] != tc.enc {
				t.Errorf("Encounter.status %v, want %s", enc["status"], tc.enc)
			}
		})
	}
}

// simShowsVideoCall reports whether the simulator's appointment answer
// carries the videoCall object.
func simShowsVideoCall(t *testing.T, f *fixture, said string) bool {
	body, err := f.s.Solo.AppointmentJSON(context.Background(), said)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(body, []byte(`"videoCall":{`))
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSyncStoresNewVersionsOnlyOnChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	said := f.appointment(t, "appt-1", true)
	n, _ := strconv.Atoi(said)
	f.sim.SetAppointmentStatus(n, "completed", "")
	r1, err := f.s.SyncAppointment(ctx, said)
	if err != nil || !r1.AppointmentChanged || !r1.EncounterChanged || r1.AppointmentVersion != 2 || r1.EncounterVersion != 1 {
		t.Fatalf("first: %+v %v", r1, err)
	}
	r2, err := f.s.SyncAppointment(ctx, said)
	if err != nil || r2.AppointmentChanged || r2.EncounterChanged || r2.AppointmentVersion != 2 || r2.EncounterVersion != 1 {
		t.Fatalf("second: %+v %v", r2, err)
	}
	enc, _ := f.stored(t, "Encounter", "solo-visit-"+said)
	for _, want := range []string{`"reference":"Appointment/appt-1"`, `"reference":"Patient/pat-1"`, `"start":"2026-12-01T08:30:00Z"`, `"end":"2026-12-01T08:45:00Z"`} {
		if !strings.Contains(mustJSON(enc), want) {
			t.Errorf("Encounter lacks %s: %s", want, mustJSON(enc))
		}
	}
	if _, err := f.s.SyncAppointment(ctx, "424242"); !isUnknown(err) {
		t.Fatalf("unlinked SAID: %v", err)
	}
}

func isUnknown(err error) bool {
	return err != nil && strings.Contains(err.Error(), ErrUnknown.Error()) && errorsIs(err, ErrUnknown)
}

// event encrypts an appointment event for key.
func event(t *testing.T, key, typ, said, id string) []byte {
	t.Helper()
	plain := `{"event":{"type":"` + typ + `","id":"` + id + `"},"data":{"appointmentId":` + said + `}}`
	p, err := solo.EncryptPayload(key, []byte(plain), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(p)
}

const (
	testToken = "0123456789abcdef0123456789abcdef0123456789abcdef"
	testKey   = "39VNjjSpgoUWMbUhVCjAoQ=="
)

func post(h http.Handler, token string, body []byte) (int, string, time.Duration) {
	mux := http.NewServeMux()
	mux.Handle("POST /solo/webhooks/{token}", h)
	req := httptest.NewRequest("POST", "/solo/webhooks/"+token, bytes.NewReader(body))
	rec := httptest.NewRecorder()
	start := time.Now()
	mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), time.Since(start)
}

// TestReceiverTampering: RELIABILITY case 22. Every tampered payload and a
// wrong token get byte-identical answers; a replay has no second effect.
func TestReceiverTampering(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	said := f.appointment(t, "appt-1", true)
	n, _ := strconv.Atoi(said)
	f.sim.SetAppointmentStatus(n, "completed", "")
	rc := &Receiver{Syncer: f.s, Token: testToken, Key: testKey}
	good := event(t, testKey, "appointment:completed", said, "evt-1")
	padded := func(p []byte, key string) []byte { // encrypt raw padded bytes
		return []byte(rawPayload(t, key, p))
	}
	pad := func(s string, b byte, n int) []byte { return append([]byte(s), bytes.Repeat([]byte{b}, n)...) }
	cases := []struct {
		name  string
		token string
		body  []byte
	}{
		{"wrong token", strings.Repeat("f", len(testToken)), good},
		{"short token", "abc", good},
		{"empty", testToken, nil},
		{"ciphertext not a multiple of 16", testToken, append(bytes.Clone(good[:36]), []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAA")...)},
		{"iv of 12 bytes", testToken, append(append(bytes.Clone(good[:12]), []byte("MDEyMzQ1Njc4OWFiAAAAAAAA")...), good[36:]...)},
		{"bad base64", testToken, append(append(bytes.Clone(good[:40]), '!', '!', '!', '!'), good[44:]...)},
		{"pad byte 0", testToken, padded(pad(`{"x":1}`, 0, 9), testKey)},
		{"pad byte over 16", testToken, padded(pad(`{"x":1}`, 17, 9), testKey)},
		{"inconsistent pad bytes", testToken, padded(append([]byte(`{"x":1}`), 9, 9, 9, 9, 3, 9, 9, 9, 9), testKey)},
		{"valid padding, invalid JSON", testToken, padded(pad(`{"x":1`, 10, 10), testKey)},
		{"valid JSON, not an event", testToken, padded(pad(`{"x":1}`, 9, 9), testKey)},
		{"wrong secret", testToken, event(t, "another key", "appointment:completed", said, "evt-9")},
	}
	var firstCode int
	var firstBody string
	times := map[string][]time.Duration{}
	for i := 0; i < 30; i++ {
		for j := range cases {
			tc := cases[(i+j)%len(cases)]
			code, body, d := post(rc, tc.token, tc.body)
			times[tc.name] = append(times[tc.name], d)
			if firstBody == "" {
				firstCode, firstBody = code, body
			}
			if code != firstCode || body != firstBody || code != http.StatusBadRequest || body != Rejected {
				t.Fatalf("%s: %d %q, want the one answer %d %q", tc.name, code, body, http.StatusBadRequest, Rejected)
			}
		}
	}
	var medians []string
	for _, tc := range cases {
		ds := times[tc.name]
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		medians = append(medians, tc.name+"="+ds[len(ds)/2].String())
	}
	t.Logf("median time to answer per case: %s", strings.Join(medians, ", "))
	lo, hi := time.Hour, time.Duration(0)
	for _, tc := range cases {
		ds := times[tc.name]
		lo, hi = min(lo, ds[len(ds)/2]), max(hi, ds[len(ds)/2])
	}
	if hi > 2*lo {
		t.Errorf("refusals differ in time: median %v to %v", lo, hi)
	}
	if rows, _ := f.s.Events(ctx); len(rows) != 0 {
		t.Fatalf("tampered events recorded: %+v", rows)
	}

	// the real event, then its replay (same bytes) and a re-encryption with the same event id
	for i, body := range [][]byte{good, good, event(t, testKey, "appointment:completed", said, "evt-1")} {
		if code, b, _ := post(rc, testToken, body); code != 200 || b != Accepted {
			t.Fatalf("delivery %d: %d %s", i, code, b)
		}
		f.work(t)
	}
	rows, _ := f.s.Events(ctx)
	if len(rows) != 1 || rows[0].State != StateDone || rows[0].Attempts != 1 {
		t.Fatalf("events: %+v", rows)
	}
	hist, _ := f.st.History(ctx, "Appointment", "appt-1")
	if len(hist) != 2 {
		t.Fatalf("Appointment versions %d, want 2 (booked, fulfilled)", len(hist))
	}
}

func TestUnknownEventsAreKeptAndReplayed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	said := f.appointment(t, "appt-9", false)
	rc := &Receiver{Syncer: f.s, Token: testToken, Key: testKey}
	if code, _, _ := post(rc, testToken, event(t, testKey, "appointment:cancelled", said, "evt-7")); code != 200 {
		t.Fatal(code)
	}
	f.work(t)
	rows, _ := f.s.Events(ctx, StateUnknown)
	if len(rows) != 1 || rows[0].ObjectID != said {
		t.Fatalf("unknown events: %+v", rows)
	}
	f.link(t, "appt-9", said)
	out, err := f.s.Replay(ctx)
	if err != nil || len(out) != 1 || out[0].State != StateDone {
		t.Fatalf("replay: %+v %v", out, err)
	}
	if _, _, err := f.st.GetResource(ctx, "Encounter", "solo-visit-"+said); err != nil {
		t.Fatal(err)
	}
}

// TestEHRWriteBackEnqueued: with an EHR flow, a sync that changes the
// Appointment and the Encounter enqueues both as delivery jobs of that
// flow at the versions stored, in the same transaction; without one,
// nothing is enqueued. The delivery Runner sends them (connectors/ehr
// tests the sending, retries and restarts through the queue).
func TestEHRWriteBackEnqueued(t *testing.T) {
	for _, flow := range []string{delivery.EHRFlow, ""} {
		t.Run("flow="+flow, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.s.EHRFlow = flow
			said := f.appointment(t, "appt-1", true)
			n, _ := strconv.Atoi(said)
			f.sim.SetAppointmentStatus(n, "completed", "")
			res, err := f.s.SyncAppointment(ctx, said)
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := delivery.NewQueue(f.st).List(ctx, delivery.Filter{Flow: delivery.EHRFlow})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, fmt.Sprintf("%s/%s/%d/%s", j.ResourceType, j.ResourceID, j.Version, j.State))
			}
			sort.Strings(got)
			var want []string
			if flow != "" {
				want = []string{fmt.Sprintf("Appointment/appt-1/%d/pending", res.AppointmentVersion),
					fmt.Sprintf("Encounter/solo-visit-%s/%d/pending", said, res.EncounterVersion)}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("jobs %v, want %v", got, want)
			}
		})
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// rawPayload encrypts bytes that already carry their (maybe bad) padding.
func rawPayload(t *testing.T, key string, padded []byte) string {
	t.Helper()
	salt, iv := []byte("saltsalt"), []byte("0123456789abcdef")
	k := sha256.Sum256(append([]byte(key), salt...))
	block, _ := aes.NewCipher(k[:])
	ct := bytes.Clone(padded)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	b := base64.StdEncoding
	return b.EncodeToString(salt) + b.EncodeToString(iv) + b.EncodeToString(ct)
}

// TestPoll: the poll (status back without webhooks) syncs only stored
// Appointments that Solo knows, that may still change and that are recent;
// a synced one that became final is not polled again.
func TestPoll(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	put := func(id, status, start, said string) {
		t.Helper()
		err := f.st.InTx(ctx, func(tx *store.Tx) error {
			body := `{"resourceType":"Appointment","id":"` + id + `","status":"` + status + `","start":"` + start + `","participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"}]}`
			if _, _, err := tx.PutResource(ctx, "Appointment", id, []byte(body)); err != nil {
				return err
			}
			if said == "" {
				return nil
			}
			return tx.LinkVendorID(ctx, "solo", "Appointment", id, said)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	open := f.appointment(t, "appt-open", true) // booked, starts 2026-12-01T08:30Z
	old := f.appointment(t, "appt-old", false)
	put("appt-old", "booked", "2026-10-01T08:30:00Z", old) // before the lookback
	final := f.appointment(t, "appt-final", false)
	put("appt-final", "fulfilled", "2026-12-01T08:30:00Z", final) // final already
	put("appt-unlinked", "booked", "2026-12-01T08:30:00Z", "")    // Solo does not know it
	for _, said := range []string{open, old, final} {
		n, _ := strconv.Atoi(said)
		f.sim.SetAppointmentStatus(n, "completed", "")
	}

	res, err := f.s.Poll(ctx, 72*time.Hour)
	if err != nil || res != (PollResult{Checked: 1, Changed: 1}) {
		t.Fatalf("first poll: %+v %v, want one checked and changed", res, err)
	}
	if a, v := f.stored(t, "Appointment", "appt-open"); a["status"] != "fulfilled" || v != 2 {
		t.Errorf("appt-open: status %v version %d, want fulfilled at version 2", a["status"], v)
	}
	for _, id := range []string{"appt-old", "appt-final"} {
		if _, v := f.stored(t, "Appointment", id); v != 1 {
			t.Errorf("%s was synced (version %d) though the poll must skip it", id, v)
		}
	}
	if _, _, err := f.st.GetResource(ctx, "Encounter", EncounterID(open)); err != nil {
		t.Errorf("the visit's Encounter was not stored: %v", err)
	}
	res, err = f.s.Poll(ctx, 72*time.Hour)
	if err != nil || res != (PollResult{}) {
		t.Errorf("second poll: %+v %v, want nothing checked (appt-open is final now)", res, err)
	}
}
