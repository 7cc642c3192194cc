package ehr

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smartsim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

func decode(t *testing.T, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMerge: what the flow owns comes from its version, everything else
// stays as the EHR has it.
func TestMerge(t *testing.T) {
	tests := []struct {
		name, cur, ours, want string
	}{
		{"appointment: status and reason ours, comment the EHR's",
			`{"resourceType":"Appointment","id":"a1","meta":{"versionId":"3"},"status":"booked","comment":"EHR edit","start":"2026-01-02T10:00:00Z"}`,
			`{"resourceType":"Appointment","id":"a1","status":"cancelled","cancelationReason":{"text":"pat"},"comment":"stale","start":"2025-01-01T00:00:00Z"}`,
			`{"resourceType":"Appointment","id":"a1","meta":{"versionId":"3"},"status":"cancelled","comment":"EHR edit","start":"2026-01-02T10:00:00Z","cancelationReason":{"text":"pat"}}`},
		{"appointment: a reason the flow dropped is dropped",
			`{"resourceType":"Appointment","id":"a1","status":"cancelled","cancelationReason":{"text":"x"}}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked"}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked"}`},
		{"appointment: the EHR's extensions kept, ours replaced",
			`{"resourceType":"Appointment","id":"a1","status":"booked","extension":[{"url":"http://ehr/x","valueString":"e"},{"url":"urn:fhirbridge:solo:status","valueString":"old"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked","extension":[{"url":"http://ehr/x","valueString":"stale"},{"url":"urn:fhirbridge:solo:status","valueString":"new"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked","extension":[{"url":"http://ehr/x","valueString":"e"},{"url":"urn:fhirbridge:solo:status","valueString":"new"}]}`},
		{"appointment: our identifier added after the EHR's",
			`{"resourceType":"Appointment","id":"a1","status":"booked","identifier":[{"system":"http://ehr/ids","value":"1"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked","identifier":[{"system":"https://fhirbridge.dev/ids/solo","value":"S1"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked","identifier":[{"system":"http://ehr/ids","value":"1"},{"system":"https://fhirbridge.dev/ids/solo","value":"S1"}]}`},
		{"appointment: the EHR's extension list left when we add none",
			`{"resourceType":"Appointment","id":"a1","status":"booked","extension":[{"url":"http://ehr/x"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked"}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked","extension":[{"url":"http://ehr/x"}]}`},
		{"appointment: an extension only we had is removed with ours",
			`{"resourceType":"Appointment","id":"a1","status":"booked","extension":[{"url":"urn:fhirbridge:solo:status"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked"}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked"}`},
		{"encounter (ours): what we send replaces, what the EHR added stays",
			`{"resourceType":"Encounter","id":"solo-visit-1","status":"in-progress","diagnosis":[{"rank":1}],"period":{"start":"x"}}`,
			`{"resourceType":"Encounter","id":"solo-visit-1","status":"finished","period":{"start":"x","end":"y"}}`,
			`{"resourceType":"Encounter","id":"solo-visit-1","status":"finished","diagnosis":[{"rank":1}],"period":{"start":"x","end":"y"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Merge(decode(t, tc.cur), decode(t, tc.ours)).JSON()
			if want := decode(t, tc.want).JSON(); !bytes.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// smartEnv is a SMART test EHR and a connector to it with a token source;
// logs collects what the bridge logs.
type smartEnv struct {
	sim  *smartsim.Server
	src  *smart.Source
	conn *Connector
	key  []byte
	logs *bytes.Buffer
}

func newSmartEnv(t *testing.T, alg string, life time.Duration) *smartEnv {
	t.Helper()
	pemText, pub, err := smartsim.NewKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := smart.ParsePrivateKey(pemText, alg)
	if err != nil {
		t.Fatal(err)
	}
	sim := smartsim.New("fhirbridge", alg, pub, life)
	t.Cleanup(sim.Close)
	src, err := smart.New(smart.Config{BaseURL: sim.FHIRBase(), ClientID: "fhirbridge", KeyID: "k1", Alg: alg, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := New(Endpoint{BaseURL: sim.FHIRBase(), Tokens: src})
	if err != nil {
		t.Fatal(err)
	}
	return &smartEnv{sim: sim, src: src, conn: conn, key: pemText, logs: &bytes.Buffer{}}
}

const ehrAppointment = `{"resourceType":"Appointment","id":"a1","status":"booked","description":"Follow-up","comment":"as booked",
 "start":"2026-03-01T09:00:00Z","end":"2026-03-01T09:20:00Z","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}],
 "extension":[{"url":"http://ehr.example/room","valueString":"R2"}]}`

// cancelled is the flow's version: cancelled, with its own extension,
// carrying the comment and description as the bridge stored them.
func cancelled(t *testing.T) *fhir.Value {
	return decode(t, `{"resourceType":"Appointment","id":"a1","meta":{"versionId":"7"},"status":"cancelled","description":"Follow-up","comment":"as booked",
 "cancelationReason":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason","code":"pat"}]},
 "start":"2026-03-01T09:00:00Z","end":"2026-03-01T09:20:00Z","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}],
 "extension":[{"url":"http://ehr.example/room","valueString":"R2"},{"url":"https://fhirbridge.dev/fhir/StructureDefinition/inbound-source","valueString":"tuotempo-cancellations: c.csv line 2"}]}`)
}

func (e *smartEnv) deliver(t *testing.T, res *fhir.Value) error {
	t.Helper()
	_, err := e.conn.Deliver(context.Background(), connectors.Delivery{Flow: delivery.EHRFlow, ResourceType: res.ResourceType(),
		ResourceID: res.GetString("id"), Op: connectors.Update, Body: res})
	return err
}

// TestSmartConcurrentEditSurvives: the EHR changes the comment and the
// description (not the flow's) between the bridge's read and its write;
// the first PUT gets 412, the bridge re-reads and re-applies, and the
// EHR's copy ends with the EHR's edits and the flow's status.
func TestSmartConcurrentEditSurvives(t *testing.T) {
	for _, alg := range []string{smart.RS384, smart.ES384} {
		t.Run(alg, func(t *testing.T) {
			e := newSmartEnv(t, alg, time.Hour)
			if err := e.sim.Seed(ehrAppointment); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			e.sim.AfterGet(func(s *smartsim.Server, typ, id string) {
				once.Do(func() {
					s.Edit(typ, id, func(r map[string]any) {
						r["comment"] = "patient prefers mornings"
						r["description"] = "Follow-up (cardiology)"
					})
				})
			})
			if err := e.deliver(t, cancelled(t)); err != nil {
				t.Fatal(err)
			}
			got := e.sim.Resource("Appointment", "a1")
			if got["status"] != "cancelled" || got["cancelationReason"] == nil {
				t.Errorf("the flow's parts are missing: %v", got)
			}
			if got["comment"] != "patient prefers mornings" || got["description"] != "Follow-up (cardiology)" {
				t.Errorf("the EHR's edit was overwritten: %v", got)
			}
			exts, _ := got["extension"].([]any)
			if len(exts) != 2 {
				t.Errorf("extensions %v, want the EHR's and ours", exts)
			}
			var puts []smartsim.Request
			for _, r := range e.sim.Log() {
				if r.Method == "PUT" {
					puts = append(puts, r)
				}
			}
			if len(puts) != 2 || puts[0].Status != 412 || puts[0].IfMatch != `W/"1"` || puts[1].Status != 200 || puts[1].IfMatch != `W/"2"` {
				t.Errorf("PUTs %+v, want 412 on W/\"1\" then 200 on W/\"2\"", puts)
			}
			// delivering the same version again changes nothing
			n := len(e.sim.Log())
			if err := e.deliver(t, cancelled(t)); err != nil {
				t.Fatal(err)
			}
			for _, r := range e.sim.Log()[n:] {
				if r.Method == "PUT" {
					t.Errorf("a PUT of an unchanged resource: %+v", r)
				}
			}
		})
	}
}

// TestSmartAnswers: creation, deletion, endless conflicts, refused tokens.
func TestSmartAnswers(t *testing.T) {
	t.Run("404 creates with a plain PUT", func(t *testing.T) {
		e := newSmartEnv(t, smart.ES384, time.Hour)
		enc := decode(t, `{"resourceType":"Encounter","id":"solo-visit-1","status":"finished","class":{"code":"VR"}}`)
		if err := e.deliver(t, enc); err != nil {
			t.Fatal(err)
		}
		if got := e.sim.Resource("Encounter", "solo-visit-1"); got["status"] != "finished" {
			t.Errorf("stored %v", got)
		}
		for _, r := range e.sim.Log() {
			if r.Method == "PUT" && r.IfMatch != "" {
				t.Errorf("create sent If-Match %q", r.IfMatch)
			}
		}
	})
	t.Run("410 is permanent", func(t *testing.T) {
		e2 := newSmartEnv(t, smart.ES384, time.Hour)
		if err := e2.sim.Seed(ehrAppointment); err != nil {
			t.Fatal(err)
		}
		e2.sim.Gone("Appointment", "a1")
		err := e2.deliver(t, cancelled(t))
		if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent || !strings.Contains(err.Error(), "410") {
			t.Fatalf("err %v, want a permanent 410", err)
		}
	})
	t.Run("conflicts every time: transient after MaxConflicts", func(t *testing.T) {
		e := newSmartEnv(t, smart.RS384, time.Hour)
		if err := e.sim.Seed(ehrAppointment); err != nil {
			t.Fatal(err)
		}
		e.sim.AfterGet(func(s *smartsim.Server, typ, id string) {
			s.Edit(typ, id, func(r map[string]any) { r["comment"] = time.Now().String() })
		})
		err := e.deliver(t, cancelled(t))
		if class, _ := connectors.Classify(err); err == nil || class != connectors.Transient || !strings.Contains(err.Error(), "412") {
			t.Fatalf("err %v, want transient 412", err)
		}
		puts := 0
		for _, r := range e.sim.Log() {
			if r.Method == "PUT" {
				puts++
			}
		}
		if puts != MaxConflicts+1 {
			t.Errorf("%d PUTs, want %d (the first and one per re-read)", puts, MaxConflicts+1)
		}
	})
	t.Run("a fresh token refused too: reconnect", func(t *testing.T) {
		e := newSmartEnv(t, smart.RS384, 0) // tokens expire as issued
		if err := e.sim.Seed(ehrAppointment); err != nil {
			t.Fatal(err)
		}
		err := e.deliver(t, cancelled(t))
		if class, _ := connectors.Classify(err); !errors.Is(err, ErrUnauthorized) || class != connectors.Reconnect {
			t.Fatalf("err %v class %s, want reconnect ErrUnauthorized", err, class)
		}
		if e.sim.Issued() != 2 {
			t.Errorf("%d tokens issued, want 2 (one renewal)", e.sim.Issued())
		}
	})
}

// TestSmartTokenExpiresMidRun: pushes go through the delivery queue; the
// EHR expires the token between two of them; the second is sent with a
// renewed token, no push is lost, and nothing secret reaches the logs or
// the jobs' errors.
func TestSmartTokenExpiresMidRun(t *testing.T) {
	e := newSmartEnv(t, smart.ES384, time.Hour)
	if err := e.sim.Seed(ehrAppointment); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Seed(strings.Replace(ehrAppointment, `"a1"`, `"a2"`, 1)); err != nil {
		t.Fatal(err)
	}
	q := smartQueue(t, e)
	q.putRes(cancelled(t))
	q.run(delivery.Options{}, "first push", func(jobs []delivery.JobInfo) bool {
		return len(jobs) == 1 && jobs[0].State == delivery.StateDelivered
	})
	e.sim.ExpireTokens()
	a2 := decode(t, strings.Replace(string(cancelled(t).JSON()), `"a1"`, `"a2"`, 1))
	q.putRes(a2)
	q.run(delivery.Options{}, "second push", func(jobs []delivery.JobInfo) bool {
		return len(jobs) == 2 && jobs[0].State == delivery.StateDelivered && jobs[1].State == delivery.StateDelivered
	})
	if got := e.sim.Resource("Appointment", "a2"); got["status"] != "cancelled" {
		t.Errorf("a2 %v", got)
	}
	if e.sim.Issued() != 2 {
		t.Errorf("%d tokens issued, want 2", e.sim.Issued())
	}
	saw401 := false
	for _, r := range e.sim.Log() {
		saw401 = saw401 || r.Status == 401
	}
	if !saw401 {
		t.Error("the expired token was never refused: the test proves nothing")
	}
	if len(q.events()) != 0 {
		t.Errorf("retries %+v: the renewal should happen within the attempt", q.events())
	}
	logMu.Lock()
	renewed := strings.Contains(e.logs.String(), "renewing")
	logMu.Unlock()
	if !renewed {
		t.Error("the renewal was not logged")
	}
	e.noSecrets(t)
}

// TestSmartPushSurvivesRestart: the token endpoint is refusing the client
// (a revoked registration, say); the push stays pending, the bridge
// restarts, the registration is fixed, and the push is delivered.
func TestSmartPushSurvivesRestart(t *testing.T) {
	e := newSmartEnv(t, smart.RS384, time.Hour)
	if err := e.sim.Seed(ehrAppointment); err != nil {
		t.Fatal(err)
	}
	e.sim.RefuseClient(true)
	q := smartQueue(t, e)
	q.putRes(cancelled(t))
	opt := delivery.Options{BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond, BreakerCooldown: 100 * time.Millisecond}
	jobs := q.run(opt, "refused", func(jobs []delivery.JobInfo) bool {
		return len(jobs) == 1 && jobs[0].Attempts >= 1 && jobs[0].State == delivery.StatePending
	})
	if !strings.Contains(jobs[0].LastError, "invalid_client") {
		t.Errorf("last error %q lacks the OAuth code", jobs[0].LastError)
	}
	q.st.Close()
	e.sim.RefuseClient(false)
	q.open()
	q.run(opt, "after the restart", state(delivery.StateDelivered))
	if got := e.sim.Resource("Appointment", "a1"); got["status"] != "cancelled" {
		t.Errorf("a1 %v", got)
	}
	e.noSecrets(t)
}

// noSecrets fails when a token, an assertion or key material is in the
// logs or the jobs' errors.
func (e *smartEnv) noSecrets(t *testing.T) {
	t.Helper()
	logMu.Lock()
	logs := e.logs.String()
	logMu.Unlock()
	if logs == "" {
		t.Error("nothing was logged: the check proves nothing")
	}
	keyBody := strings.Join(strings.Split(string(e.key), "\n")[1:3], "")
	for _, bad := range []string{"sim-", "Bearer", "eyJ", keyBody[:40], "PRIVATE KEY"} {
		if strings.Contains(logs, bad) {
			t.Errorf("%q in the logs:\n%s", bad, logs)
		}
	}
}

// smartQueue is a queueEnv whose EHR is the SMART test EHR, logging to
// e.logs.
func smartQueue(t *testing.T, e *smartEnv) *queueEnv {
	q := &queueEnv{t: t, path: filepath.Join(t.TempDir(), "fhirbridge.db"), conn: e.conn,
		logger: slog.New(slog.NewTextHandler(lockedWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	q.open()
	return q
}

// lockedWriter serialises writes to a buffer shared by goroutines.
type lockedWriter struct{ w *bytes.Buffer }

var logMu sync.Mutex

func (l lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

// TestSmartTransaction: the booking transaction uses the same token
// source: an expired token is renewed once and the Bundle goes through.
func TestSmartTransaction(t *testing.T) {
	e := newSmartEnv(t, smart.ES384, time.Hour)
	b := decode(t, `{"resourceType":"Bundle","type":"transaction","entry":[]}`)
	if err := e.conn.Transaction(context.Background(), "Appointment/a1 booking transaction", b); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireTokens()
	if err := e.conn.Transaction(context.Background(), "Appointment/a1 booking transaction", b); err != nil {
		t.Fatal(err)
	}
	if e.sim.Issued() != 2 {
		t.Errorf("%d tokens issued, want 2", e.sim.Issued())
	}
}
