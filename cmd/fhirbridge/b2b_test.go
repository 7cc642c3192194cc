package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
)

// b2bToken is bridge B's bearer token: B plays the EHR and, like one,
// accepts only authorized callers.
const b2bToken = "b2b-ehr-token-not-a-real-one"

// b2bInbound is the provenance extension the tuOtempO cancellation adds
// (one the bridge owns).
const b2bInbound = "https://fhirbridge.dev/fhir/StructureDefinition/inbound-source"

// TestBridgeToBridgeWriteBack proves the EHR write-back's conditional
// semantics end to end against a real FHIR endpoint: bridge B, serve on
// SQLite with a bearer token, plays the EHR; bridge A has
// ehr.fhir_base_url pointing at B (through a proxy) and a tuOtempO
// cancellation feed. Both hold the same Appointment (comment,
// description, an EHR identifier, patient and practitioner, booked).
// A cancellation file makes A cancel it and enqueue its write-back.
// Just before A's PUT reaches B, the proxy lets the EHR's users edit the
// Appointment on B first (an ordinary PUT with If-Match), so A's PUT
// meets a real 412 from B and A must re-read and re-apply.
//
// In each case B ends with A's status, cancelationReason and provenance
// extension, and with every EHR edit kept (comment, participants, times,
// the EHR's identifier and extension; description never touched); B's
// _history holds exactly the seed, each EHR edit and ONE write of A's, in
// that order (no lost update, no blind overwrite, no second write); every
// PUT of A's carried If-Match naming the version A had just read, and the
// proxy saw one 412 per EHR edit; A's delivery job is delivered: in one
// attempt when the conflicts fit in one delivery (ehr.MaxConflicts), in a
// second one (the queue's retry) when the EHR kept editing past them, so
// a stale copy never overwrites; and when B stored A's write but the
// answer was lost, the retry re-reads, finds A's parts and writes nothing.
func TestBridgeToBridgeWriteBack(t *testing.T) {
	sum := sha256.Sum256([]byte(b2bToken))
	bridgeB := startBridge(t, `server: {listen: "127.0.0.1:0", tokens: ["sha256:`+hex.EncodeToString(sum[:])+`"]}`+"\n")
	ehrB := fhirClient{t: t, base: bridgeB.Base + "/fhir", token: b2bToken}
	px := newEditingProxy(t, bridgeB.Base, ehrB)

	drop := t.TempDir()
	t.Setenv("B2B_EHR_TOKEN", b2bToken)
	bridgeA := startBridge(t, `ehr: {fhir_base_url: "`+px.URL()+`/fhir", token: {env: B2B_EHR_TOKEN}}
connectors:
  tuotempo:
    remote: {kind: local, dir: `+drop+`}
    cancellations:
      - {name: cancels, every: 50ms, min_age: 10ms}
`)
	bridgeSide := fhirClient{t: t, base: bridgeA.Base + "/fhir"}

	// what the EHR holds, and has pushed to A: B needs the token, A not
	for _, c := range []fhirClient{ehrB, bridgeSide} {
		c.must(http.MethodPut, "Patient/p-b2b", `{"resourceType":"Patient","id":"p-b2b","name":[{"family":"Ejemplo","given":["Lucía"]}],"birthDate":"1980-02-03"}`, "", http.StatusCreated, http.StatusOK)
		for _, dr := range []string{"dr-b2b-1", "dr-b2b-2"} {
			c.must(http.MethodPut, "Practitioner/"+dr, `{"resourceType":"Practitioner","id":"`+dr+`","name":[{"family":"Médica"}]}`, "", http.StatusCreated, http.StatusOK)
		}
	}

	tests := []struct {
		name string
		id   string
		// edits are the EHR users' edits, one before each of A's
		// conditional PUTs, applied to B's current copy
		edits []func(a map[string]any)
		// lose is how many of B's 200 answers to A's PUTs the proxy
		// turns into 502s (B stored the write, A must not write again)
		lose         int
		wantAttempts int // A's delivery attempts of the job
	}{
		{
			name: "one concurrent edit of the comment",
			id:   "appt-b2b-1",
			edits: []func(map[string]any){
				func(a map[string]any) {
					a["comment"] = "Wheelchair access: use the ground floor room"
					a["extension"] = []any{map[string]any{"url": "https://ehr.example/fhir/StructureDefinition/room", "valueString": "G-12"}}
				},
			},
			wantAttempts: 1,
		},
		{
			// MaxConflicts+1 edits: every write of A's first delivery
			// meets a 412, the job fails transiently and the queue's
			// retry writes on top of the EHR's last edit
			name:         "the EHR keeps editing past MaxConflicts",
			id:           "appt-b2b-2",
			edits:        keepEditing(ehr.MaxConflicts + 1),
			wantAttempts: 2,
		},
		{
			// the retry re-reads, finds A's parts on B and writes nothing
			name:         "A's write stored but its answer lost",
			id:           "appt-b2b-3",
			lose:         1,
			wantAttempts: 2,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ehrB.t, bridgeSide.t = t, t
			seed := b2bAppointment(tc.id)
			ehrB.must(http.MethodPut, "Appointment/"+tc.id, seed, "", http.StatusCreated)
			bridgeSide.must(http.MethodPut, "Appointment/"+tc.id, seed, "", http.StatusCreated)
			px.expect(tc.id, tc.edits, tc.lose)

			file := fmt.Sprintf("cancellations_b2b_%d.csv", i+1)
			csv := "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS\r\n" +
				tc.id + ";;+34600000001;;dr-b2b-1;CANCELLED by USER\r\n"
			if err := os.WriteFile(filepath.Join(drop, file), []byte(csv), 0o600); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "A's cancellation written back to B", func() bool {
				_, _, body := ehrB.do(http.MethodGet, "Appointment/"+tc.id, "", "")
				return strings.Contains(string(body), `"cancelled"`)
			}, func() string { return bridgeA.Log() + bridgeB.Log() })
			waitFor(t, "A's delivery job delivered", func() bool {
				jobs := ehrJobs(t, bridgeA.Config, tc.id)
				return len(jobs) == 1 && jobs[0].State == delivery.StateDelivered
			}, bridgeA.Log)

			// A's stored version: the parts A owns come from it
			ours := decodeJSON(t, bridgeSide.must(http.MethodGet, "Appointment/"+tc.id, "", "", http.StatusOK))
			if ours["status"] != "cancelled" || ours["cancelationReason"] == nil {
				t.Fatalf("A's stored Appointment is %v with reason %v, want cancelled with a reason", ours["status"], ours["cancelationReason"])
			}

			// B's history: seed, each EHR edit, A's one write; newest first
			hist := decodeJSON(t, ehrB.must(http.MethodGet, "Appointment/"+tc.id+"/_history", "", "", http.StatusOK))
			entries, _ := hist["entry"].([]any)
			n := len(tc.edits) + 2
			if len(entries) != n {
				t.Fatalf("B's _history has %d versions, want %d (seed, %d EHR edits, A's write)", len(entries), n, len(tc.edits))
			}
			versions := make([]map[string]any, n) // versions[k] is version k+1
			for j, e := range entries {
				res, _ := e.(map[string]any)["resource"].(map[string]any)
				vid := fmt.Sprint(res["meta"].(map[string]any)["versionId"])
				if want := fmt.Sprint(n - j); vid != want {
					t.Fatalf("history entry %d is version %s, want %s", j, vid, want)
				}
				versions[n-1-j] = res
			}
			expected := decodeJSON(t, []byte(seed))
			for k, v := range versions[:n-1] { // the seed and the EHR's edits
				if k > 0 {
					tc.edits[k-1](expected)
				}
				if got, want := withoutMeta(v), withoutMeta(expected); !reflect.DeepEqual(got, want) {
					t.Errorf("version %d is\n%v\nwant the EHR's\n%v", k+1, got, want)
				}
			}
			final := versions[n-1]
			// A's write: the EHR's last version with only A's parts changed
			if got, want := withoutOwned(final), withoutOwned(versions[n-2]); !reflect.DeepEqual(got, want) {
				t.Errorf("A's write changed what the EHR owns:\n%v\nwant\n%v", got, want)
			}
			if final["status"] != "cancelled" || !reflect.DeepEqual(final["cancelationReason"], ours["cancelationReason"]) {
				t.Errorf("B has status %v, reason %v; want A's cancelled, %v", final["status"], final["cancelationReason"], ours["cancelationReason"])
			}
			if got := bridgeEntries(final["extension"], "url"); !reflect.DeepEqual(got, ours["extension"]) || !strings.Contains(fmt.Sprint(got), b2bInbound) {
				t.Errorf("B's extensions of the bridge %v, want A's provenance note %v", got, ours["extension"])
			}
			if final["description"] != "Cardiology follow-up" || final["comment"] != expected["comment"] {
				t.Errorf("B's description %q and comment %q: the EHR's must stay", final["description"], final["comment"])
			}
			if cur := decodeJSON(t, ehrB.must(http.MethodGet, "Appointment/"+tc.id, "", "", http.StatusOK)); !reflect.DeepEqual(withoutMeta(cur), withoutMeta(final)) {
				t.Errorf("B's current copy is not its last history version")
			}

			// what crossed the proxy: A read, wrote If-Match the version
			// it had read, met one 412 per EHR edit, then wrote once
			calls := px.calls(tc.id)
			var puts, conflicts int
			for _, c := range calls {
				if !c.auth {
					t.Errorf("%s without the bearer token", c.method)
				}
				if c.method != http.MethodPut {
					continue
				}
				puts++
				if want := fmt.Sprintf(`W/"%d"`, puts); c.ifMatch != want {
					t.Errorf("PUT %d of A's: If-Match %q, want %q (the version it had just read)", puts, c.ifMatch, want)
				}
				if c.versionID {
					t.Errorf("PUT %d of A's sent meta.versionId", puts)
				}
				if c.status == http.StatusPreconditionFailed {
					conflicts++
				} else if c.status != http.StatusOK {
					t.Errorf("PUT %d of A's: %d", puts, c.status)
				}
			}
			if puts != len(tc.edits)+1 || conflicts != len(tc.edits) {
				t.Errorf("A sent %d PUTs meeting %d 412s, want %d and %d: %+v", puts, conflicts, len(tc.edits)+1, len(tc.edits), calls)
			}
			if want := 2*puts + tc.lose; len(calls) != want { // and a read after each lost answer
				t.Errorf("%d calls for %d PUTs, want %d: a read before each write: %+v", len(calls), puts, want, calls)
			}
			if jobs := ehrJobs(t, bridgeA.Config, tc.id); len(jobs) != 1 || jobs[0].Attempts != tc.wantAttempts || jobs[0].Version != int(versionOf(ours)) {
				t.Errorf("A's jobs %+v, want one delivered in %d attempt(s)", jobs, tc.wantAttempts)
			}
		})
	}
	bridgeA.Stop()
	bridgeB.Stop()
	for _, b := range []*testBridge{bridgeA, bridgeB} {
		b.NoCanary("Ejemplo", "Lucía", "1980-02-03", "600000001", "Wheelchair", "referral letter", "EHR-APPT-", b2bToken)
	}
}

// keepEditing returns n edits of the EHR's users: each moves the
// appointment by 15 minutes, swaps the practitioner (the last edit leaves
// dr-b2b-2, not the seed's) and rewrites the comment.
func keepEditing(n int) []func(map[string]any) {
	var edits []func(map[string]any)
	for k := 1; k <= n; k++ {
		edits = append(edits, func(a map[string]any) {
			start := time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC).Add(time.Duration(k) * 15 * time.Minute)
			a["start"] = start.Format(time.RFC3339)
			a["end"] = start.Add(30 * time.Minute).Format(time.RFC3339)
			a["comment"] = fmt.Sprintf("Moved by the front desk (%d)", k)
			a["participant"] = []any{
				map[string]any{"actor": map[string]any{"reference": "Patient/p-b2b"}, "status": "accepted"},
				map[string]any{"actor": map[string]any{"reference": fmt.Sprintf("Practitioner/dr-b2b-%d", 1+(n-k+1)%2)}, "status": "accepted"},
			}
		})
	}
	return edits
}

// b2bAppointment is the EHR's Appointment id, booked.
func b2bAppointment(id string) string {
	return `{"resourceType":"Appointment","id":"` + id + `","status":"booked",
 "identifier":[{"system":"urn:oid:2.16.724.4.9.20.90","value":"EHR-APPT-` + id + `"}],
 "description":"Cardiology follow-up","comment":"Bring the referral letter",
 "start":"2026-12-01T08:30:00Z","end":"2026-12-01T09:00:00Z",
 "participant":[{"actor":{"reference":"Patient/p-b2b"},"status":"accepted"},
  {"actor":{"reference":"Practitioner/dr-b2b-1"},"status":"accepted"}]}`
}

// withoutMeta returns a copy of res without meta.
func withoutMeta(res map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range res {
		if k != "meta" {
			out[k] = v
		}
	}
	return out
}

// bridgeEntries returns the entries of list whose key (system or url) is
// the bridge's (ehr.OwnedPrefixes), nil when none is.
func bridgeEntries(list any, key string) any {
	items, _ := list.([]any)
	var ours []any
	for _, it := range items {
		s, _ := it.(map[string]any)[key].(string)
		if bridgeKey(s) {
			ours = append(ours, it)
		}
	}
	if ours == nil {
		return nil
	}
	return ours
}

// bridgeKey reports a system or url the bridge adds.
func bridgeKey(s string) bool {
	for _, p := range ehr.OwnedPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// withoutOwned returns a copy of an Appointment without meta and the
// parts the write-back owns (ehr.Owned): status, cancelationReason, and
// the bridge's identifiers and extensions.
func withoutOwned(res map[string]any) map[string]any {
	out := withoutMeta(res)
	delete(out, "status")
	delete(out, "cancelationReason")
	for list, key := range map[string]string{"identifier": "system", "extension": "url"} {
		items, _ := out[list].([]any)
		var kept []any
		for _, it := range items {
			s, _ := it.(map[string]any)[key].(string)
			if !bridgeKey(s) {
				kept = append(kept, it)
			}
		}
		delete(out, list)
		if kept != nil {
			out[list] = kept
		}
	}
	return out
}

// versionOf returns res's meta.versionId as a number (0 when absent).
func versionOf(res map[string]any) float64 {
	var v float64
	meta, _ := res["meta"].(map[string]any)
	fmt.Sscan(fmt.Sprint(meta["versionId"]), &v)
	return v
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	return m
}

// ehrJobs lists the ehr flow's jobs of Appointment id in the store of the
// bridge configured by cfg.
func ehrJobs(t *testing.T, cfg, id string) []delivery.JobInfo {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(filepath.Dir(cfg), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := delivery.NewQueue(st).List(context.Background(), delivery.Filter{Flow: delivery.EHRFlow})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []delivery.JobInfo
	for _, j := range all {
		if j.ResourceType == "Appointment" && j.ResourceID == id {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// fhirClient calls a FHIR base, with a bearer token when set.
type fhirClient struct {
	t     *testing.T
	base  string
	token string
}

// do sends body (none when empty) to base/path with If-Match when set and
// returns the status, the ETag and the answer.
func (c fhirClient) do(method, path, body, ifMatch string) (int, string, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+"/"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("ETag"), b
}

// must is do that fails the test unless the status is one of want.
func (c fhirClient) must(method, path, body, ifMatch string, want ...int) []byte {
	c.t.Helper()
	status, _, b := c.do(method, path, body, ifMatch)
	for _, w := range want {
		if status == w {
			return b
		}
	}
	c.t.Fatalf("%s %s: %d, want %v\n%s", method, path, status, want, b)
	return nil
}

// editingProxy forwards bridge A's calls to bridge B and, before A's
// PUTs of an Appointment, applies the EHR users' next edit
// to B directly (a read, then a PUT with If-Match: an ordinary
// conditional update), so A's PUT meets B's 412. It records the calls.
type editingProxy struct {
	t   *testing.T
	srv *httptest.Server
	ehr fhirClient

	mu    sync.Mutex
	edits map[string][]func(map[string]any) // pending edits by Appointment id
	lose  map[string]int                    // answers of B's to A's PUTs to lose, by id
	log   map[string][]proxyCall
}

// proxyCall is one call of A's to an Appointment, as the proxy saw it.
type proxyCall struct {
	method, ifMatch string
	auth, versionID bool // sent the bearer token; sent meta.versionId
	status          int  // B's answer
	lost            bool // the proxy answered 502 instead
}

func newEditingProxy(t *testing.T, target string, ehrB fhirClient) *editingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &editingProxy{t: t, ehr: ehrB, edits: map[string][]func(map[string]any){}, lose: map[string]int{}, log: map[string][]proxyCall{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, isAppt := strings.CutPrefix(r.URL.Path, "/fhir/Appointment/")
		if !isAppt {
			rp.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "proxy: reading the body", http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		call := proxyCall{method: r.Method, ifMatch: r.Header.Get("If-Match"),
			auth: r.Header.Get("Authorization") == "Bearer "+b2bToken, versionID: bytes.Contains(body, []byte(`"versionId"`))}
		if r.Method == http.MethodPut { // conditional or not: a blind write would lose the edit
			p.editFirst(id)
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		call.status = rec.Code
		p.mu.Lock()
		if r.Method == http.MethodPut && rec.Code == http.StatusOK && p.lose[id] > 0 {
			p.lose[id]--
			call.lost = true
		}
		p.log[id] = append(p.log[id], call)
		p.mu.Unlock()
		if call.lost { // B stored the write; A never hears of it
			http.Error(w, "proxy: the answer was lost", http.StatusBadGateway)
			return
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base.
func (p *editingProxy) URL() string { return p.srv.URL }

// expect sets the EHR's edits to make before A's next PUTs of id, and
// how many of B's 200 answers to them to lose.
func (p *editingProxy) expect(id string, edits []func(map[string]any), lose int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.edits[id] = edits
	p.lose[id] = lose
}

// calls returns A's calls to Appointment id.
func (p *editingProxy) calls(id string) []proxyCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxyCall(nil), p.log[id]...)
}

// editFirst applies the next pending edit of id on B, as the EHR's users
// would: read, change, PUT with If-Match.
func (p *editingProxy) editFirst(id string) {
	p.mu.Lock()
	var edit func(map[string]any)
	if len(p.edits[id]) > 0 {
		edit, p.edits[id] = p.edits[id][0], p.edits[id][1:]
	}
	p.mu.Unlock()
	if edit == nil {
		return
	}
	status, etag, body := p.ehr.do(http.MethodGet, "Appointment/"+id, "", "")
	if status != http.StatusOK || etag == "" {
		p.t.Errorf("the EHR's read of %s: %d, ETag %q", id, status, etag)
		return
	}
	var cur map[string]any
	if err := json.Unmarshal(body, &cur); err != nil {
		p.t.Errorf("the EHR's read of %s: %v", id, err)
		return
	}
	edit(cur)
	delete(cur, "meta")
	changed, _ := json.Marshal(cur)
	if status, _, answer := p.ehr.do(http.MethodPut, "Appointment/"+id, string(changed), etag); status != http.StatusOK {
		p.t.Errorf("the EHR's own edit of %s: %d %s", id, status, answer)
	}
}
