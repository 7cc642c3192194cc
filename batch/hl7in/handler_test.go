package hl7in

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// Canary values: synthetic patient data in every test message, which
// must never reach a log line, an ACK or a metric.
const (
	canaryName  = "ZORBLATT"
	canaryGiven = "QUENTIBALD"
	canaryMRN   = "MRN-770411"
	canaryPhone = "555-0199-42"
	canaryDOB   = "19610423"
	canaryCtl   = "CTL-SECRET"
)

const mrnSystem = "urn:test:mrn"

// adt builds an ADT message; event like "A04", control id, MRN, birth
// date (PID-7), optional extra segments.
func adt(event, control, mrn, dob string, extra ...string) []byte {
	s := "MSH|^~\\&|EPIC|HOSP|FB|TC|20260101120000||ADT^" + event + "^ADT_A01|" + control + "|P|2.5.1\r" +
		"EVN|" + event + "|20260101120000\r" +
		"PID|1||" + mrn + "^^^HOSP^MR||" + canaryName + "^" + canaryGiven + "||" + dob + "|F|||||" + canaryPhone + "\r"
	for _, e := range extra {
		s += e + "\r"
	}
	return []byte(s)
}

// testTranslator maps ADT A01/A04/A08 to a conditional PUT of the
// Patient (identifier from PID-3.1, name from PID-5, birth date from
// PID-7, phone from PID-13) and A40 to the surviving Patient plus the
// merged one (MRG-1) with a replaced-by link, the shape of the shipped
// adt-patient mapping. Other events: nil.
func testTranslator(msg *hl7v2.Message) (*fhir.Value, error) {
	_, event := msg.Type()
	switch event {
	case "A01", "A04", "A08", "A40":
	default:
		return nil, nil
	}
	mrn, _ := msg.Get("PID-3.1")
	if mrn == "" {
		return nil, &MappingError{Location: "PID-3", Code: hl7v2.CodeRequiredMissing, Err: errors.New("patient identifier required")}
	}
	p := fhir.NewObject()
	p.Set("resourceType", fhir.NewString("Patient"))
	p.Set("identifier", fhir.NewArray(ident(mrn)))
	family, _ := msg.Get("PID-5.1")
	given, _ := msg.Get("PID-5.2")
	name := fhir.NewObject()
	name.Set("family", fhir.NewString(family))
	name.Set("given", fhir.NewArray(fhir.NewString(given)))
	p.Set("name", fhir.NewArray(name))
	if dob, _ := msg.Get("PID-7"); dob != "" {
		if len(dob) != 8 || strings.Trim(dob, "0123456789") != "" {
			return nil, &MappingError{Location: "PID-7", Err: errors.New("not an HL7 date")}
		}
		p.Set("birthDate", fhir.NewString(dob[:4]+"-"+dob[4:6]+"-"+dob[6:]))
	}
	if ph, _ := msg.Get("PID-13"); ph != "" {
		t := fhir.NewObject()
		t.Set("system", fhir.NewString("phone"))
		t.Set("value", fhir.NewString(ph))
		p.Set("telecom", fhir.NewArray(t))
	}
	const survivor = "urn:uuid:00000000-0000-4000-8000-000000000001"
	entries := []*fhir.Value{entry(survivor, p, "Patient?identifier="+mrnSystem+"|"+mrn)}
	if event == "A40" {
		old, _ := msg.Get("MRG-1.1")
		if old == "" {
			return nil, &MappingError{Location: "MRG-1", Code: hl7v2.CodeRequiredMissing, Err: errors.New("merged identifier required")}
		}
		const merged = "urn:uuid:00000000-0000-4000-8000-000000000002"
		p.Set("link", fhir.NewArray(link("replaces", merged)))
		m := fhir.NewObject()
		m.Set("resourceType", fhir.NewString("Patient"))
		m.Set("active", fhir.NewBool(false))
		m.Set("identifier", fhir.NewArray(ident(old)))
		m.Set("link", fhir.NewArray(link("replaced-by", survivor)))
		entries = append(entries, entry(merged, m, "Patient?identifier="+mrnSystem+"|"+old))
	}
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("transaction"))
	b.Set("entry", fhir.NewArray(entries...))
	return b, nil
}

func ident(v string) *fhir.Value {
	i := fhir.NewObject()
	i.Set("system", fhir.NewString(mrnSystem))
	i.Set("value", fhir.NewString(v))
	return i
}

func link(typ, ref string) *fhir.Value {
	r := fhir.NewObject()
	r.Set("reference", fhir.NewString(ref))
	l := fhir.NewObject()
	l.Set("other", r)
	l.Set("type", fhir.NewString(typ))
	return l
}

func entry(fullURL string, res *fhir.Value, url string) *fhir.Value {
	req := fhir.NewObject()
	req.Set("method", fhir.NewString("PUT"))
	req.Set("url", fhir.NewString(url))
	e := fhir.NewObject()
	e.Set("fullUrl", fhir.NewString(fullURL))
	e.Set("resource", res)
	e.Set("request", req)
	return e
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// rig is a Handler over a real store behind a real MLLP listener.
type rig struct {
	t    testing.TB
	st   *store.Store
	h    *Handler
	addr string
	logs *syncBuffer
	reg  *prometheus.Registry
	acks bytes.Buffer // every ACK received, for the canary check
}

func newRig(t testing.TB, url string) *rig {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{t: t, st: st, logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	r.h = &Handler{
		Translators: map[string]Translator{"ADT": TranslatorFunc(testTranslator)},
		Backend:     &ingest.Backend{Store: st},
		Store:       st,
		Logger:      log,
		Registerer:  r.reg,
	}
	srv := &mllp.Server{Handler: r.h, Logger: log, Registerer: r.reg}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return r
}

func sqliteURL(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "t.db") }

// send sends msgs on one connection and returns their parsed ACKs.
func (r *rig) send(msgs ...[]byte) []*hl7v2.Message {
	r.t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fr := mllp.NewReader(bufio.NewReader(c), 1<<20)
	var out []*hl7v2.Message
	for _, m := range msgs {
		if err := mllp.WriteFrame(c, m); err != nil {
			r.t.Fatal(err)
		}
		raw, err := fr.ReadFrame()
		if err != nil {
			r.t.Fatalf("reading the ACK: %v", err)
		}
		r.acks.Write(raw)
		ack, err := hl7v2.Parse(raw)
		if err != nil {
			r.t.Fatalf("ACK does not parse: %v", err)
		}
		out = append(out, ack)
	}
	return out
}

// patient returns the stored Patient holding the MRN, and its version
// (nil when none).
func (r *rig) patient(mrn string) (*fhir.Value, int) {
	r.t.Helper()
	var body []byte
	var version int
	err := r.st.InTx(context.Background(), func(tx *store.Tx) error {
		id, err := tx.FindByIdentifier(context.Background(), "Patient", mrnSystem, mrn)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		body, version, err = tx.GetResource(context.Background(), "Patient", id)
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if body == nil {
		return nil, 0
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	return v, version
}

// count returns how many Patients are stored.
func (r *rig) count() int {
	n := 0
	if err := r.st.Current(context.Background(), "Patient", func(string, int, []byte) error { n++; return nil }); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// noCanary fails when a canary value is in the logs, the ACKs or the
// metrics.
func (r *rig) noCanary() {
	r.t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	var met bytes.Buffer
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&met, mf)
	}
	for what, text := range map[string]string{"logs": r.logs.String(), "ACKs": r.acks.String(), "metrics": met.String()} {
		// The birth date is looked for as sent and as FHIR writes it; not
		// as a bare year, which hex ids and float sums hold by chance.
		for _, c := range []string{canaryName, canaryGiven, canaryMRN, canaryPhone, canaryDOB, canaryCtl, "1961-04-23"} {
			if strings.Contains(text, c) {
				r.t.Errorf("%s hold the patient value %q:\n%s", what, c, text)
			}
		}
	}
}

func field(t *testing.T, m *hl7v2.Message, path string) string {
	t.Helper()
	v, err := m.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func errLoc(m *hl7v2.Message) string {
	if s := m.Segment("ERR", 1); s != nil {
		return s.Raw(2)
	}
	return ""
}

// TestStores runs the store-backed behaviours on SQLite and PostgreSQL.
func TestStores(t *testing.T) {
	cases := map[string]func(t *testing.T, r *rig){
		"AAAfterCommit":      testAAAfterCommit,
		"Replay":             testReplay,
		"ReplayConflict":     testReplayConflict,
		"A40Merge":           testA40Merge,
		"A40MergeNoneStored": testA40NoneStored,
		"ConcurrentTwins":    testConcurrentTwins,
	}
	t.Run("sqlite", func(t *testing.T) {
		for name, fn := range cases {
			t.Run(name, func(t *testing.T) { fn(t, newRig(t, sqliteURL(t))) })
		}
	})
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			pgtest.Skip(t, "-short")
		}
		base := pgtest.Start(t)
		n := 0
		for name, fn := range cases {
			n++
			url := pgtest.CreateDatabase(t, base, fmt.Sprintf("hl7in_%d", n))
			t.Run(name, func(t *testing.T) { fn(t, newRig(t, url)) })
		}
	})
}

func testAAAfterCommit(t *testing.T, r *rig) {
	acks := r.send(adt("A04", canaryCtl, canaryMRN, canaryDOB))
	if got := field(t, acks[0], "MSA-1"); got != "AA" {
		t.Fatalf("MSA-1 %q, want AA", got)
	}
	if got := field(t, acks[0], "MSA-2"); got != canaryCtl {
		t.Errorf("MSA-2 does not echo MSH-10")
	}
	p, v := r.patient(canaryMRN)
	if p == nil || v != 1 {
		t.Fatalf("Patient not stored after AA (version %d)", v)
	}
	if p.Get("name").Items[0].GetString("family") != canaryName || p.GetString("birthDate") != "1961-04-23" {
		t.Errorf("stored Patient is not the mapped one: %s", p.JSON())
	}
	var seen bool
	if _, _, seen, _ = r.h.Backend.Seen(context.Background(), "identifier:"+IdentifierSystem+"|EPIC|HOSP|"+canaryCtl, ""); !seen {
		t.Errorf("the Bundle.identifier from MSH-3|MSH-4|MSH-10 was not recorded")
	}
	// the message log has it as an HL7 v2 message, found by its identifier
	for _, ident := range []string{"EPIC|HOSP|" + canaryCtl, IdentifierSystem + "|EPIC|HOSP|" + canaryCtl} {
		msgs, _, err := r.st.SearchMessages(context.Background(), store.MessageQuery{Identifier: ident})
		if err != nil || len(msgs) != 1 || msgs[0].Kind != "hl7v2.transaction" || msgs[0].Direction != store.In {
			t.Errorf("message log by identifier: %+v (%v), want one inbound hl7v2.transaction", msgs, err)
		}
	}
	r.acks.Reset() // the ACK echoes MSH-10 by standard; the canary covers the rest
	r.noCanary()
}

func testReplay(t *testing.T, r *rig) {
	msg := adt("A04", "C1", canaryMRN, canaryDOB)
	acks := r.send(msg, msg)
	acks = append(acks, r.send(msg)...) // and on a new connection
	for i, a := range acks {
		if got := field(t, a, "MSA-1"); got != "AA" {
			t.Fatalf("send %d: MSA-1 %q, want AA", i, got)
		}
	}
	if _, v := r.patient(canaryMRN); v != 1 {
		t.Errorf("Patient version %d after three sends of one message, want 1", v)
	}
	if n := r.count(); n != 1 {
		t.Errorf("%d Patients stored, want 1", n)
	}
	if !strings.Contains(r.logs.String(), `msg="hl7v2 message" conn=`) {
		t.Errorf("the message log line has no connection id:\n%s", r.logs)
	}
	if !strings.Contains(r.logs.String(), "replay=true") {
		t.Errorf("replay not logged:\n%s", r.logs)
	}
	r.noCanary()
}

func testReplayConflict(t *testing.T, r *rig) {
	r.send(adt("A04", "C1", canaryMRN, canaryDOB))
	acks := r.send(adt("A08", "C1", canaryMRN, "19700101")) // same control id, another body
	if got := field(t, acks[0], "MSA-1"); got != "AA" {
		t.Fatalf("MSA-1 %q, want AA", got)
	}
	p, v := r.patient(canaryMRN)
	if v != 1 || p.GetString("birthDate") != "1961-04-23" {
		t.Errorf("a reused control id changed the store: version %d", v)
	}
	if !strings.Contains(r.logs.String(), "replay conflict") {
		t.Errorf("replay conflict not logged:\n%s", r.logs)
	}
	if got := counter(t, r, "fhirbridge_hl7v2_replays_total", "conflict"); got != 1 {
		t.Errorf("replay conflicts counted %v, want 1", got)
	}
	r.noCanary()
}

func testA40Merge(t *testing.T, r *rig) {
	const survivor = "MRN-NEW-1"
	acks := r.send(adt("A04", "C1", canaryMRN, canaryDOB),
		adt("A40", "C2", survivor, "", "MRG|"+canaryMRN+"^^^HOSP^MR"))
	for i, a := range acks {
		if got := field(t, a, "MSA-1"); got != "AA" {
			t.Fatalf("message %d: MSA-1 %q, want AA", i+1, got)
		}
	}
	old, v := r.patient(canaryMRN)
	if v != 2 {
		t.Fatalf("merged Patient version %d, want 2", v)
	}
	if old.GetString("birthDate") != "1961-04-23" || old.Get("telecom") == nil || old.Get("name") == nil {
		t.Errorf("the merge dropped stored elements: %s", old.JSON())
	}
	if old.Get("active") == nil || old.Get("active").True() {
		t.Errorf("merged Patient not inactive: %s", old.JSON())
	}
	newP, _ := r.patient(survivor)
	if newP == nil {
		t.Fatal("surviving Patient not stored")
	}
	links := old.Get("link")
	if links == nil || len(links.Items) != 1 || links.Items[0].GetString("type") != "replaced-by" ||
		links.Items[0].Get("other").GetString("reference") != "Patient/"+newP.GetString("id") {
		t.Errorf("merged Patient's link does not name the survivor: %s", old.JSON())
	}
	if l := newP.Get("link"); l == nil || l.Items[0].Get("other").GetString("reference") != "Patient/"+old.GetString("id") {
		t.Errorf("survivor's link does not name the merged Patient: %s", newP.JSON())
	}
	// The A40 sent again changes nothing.
	r.send(adt("A40", "C2", survivor, "", "MRG|"+canaryMRN+"^^^HOSP^MR"))
	if _, v := r.patient(canaryMRN); v != 2 {
		t.Errorf("a replayed A40 made version %d", v)
	}
	r.noCanary()
}

// testConcurrentTwins: one message sent on 8 connections at once is
// answered AA on each and stored once (the twins that lose the race meet
// the stored Bundle.identifier).
func testConcurrentTwins(t *testing.T, r *rig) {
	msg := adt("A04", "TWIN", canaryMRN, canaryDOB)
	var wg sync.WaitGroup
	codes := make([]string, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			if err := mllp.WriteFrame(c, msg); err != nil {
				t.Error(err)
				return
			}
			raw, err := mllp.NewReader(bufio.NewReader(c), 1<<20).ReadFrame()
			if err != nil {
				t.Error(err)
				return
			}
			ack, err := hl7v2.Parse(raw)
			if err != nil {
				t.Error(err)
				return
			}
			codes[i], _ = ack.Get("MSA-1")
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != "AA" {
			t.Errorf("connection %d: MSA-1 %q, want AA", i, c)
		}
	}
	if _, v := r.patient(canaryMRN); v != 1 {
		t.Errorf("Patient version %d, want 1", v)
	}
	if n := r.count(); n != 1 {
		t.Errorf("%d Patients, want 1", n)
	}
}

func testA40NoneStored(t *testing.T, r *rig) {
	acks := r.send(adt("A40", "C2", "MRN-NEW-2", "", "MRG|MRN-OLD-2^^^HOSP^MR"))
	if got := field(t, acks[0], "MSA-1"); got != "AA" {
		t.Fatalf("MSA-1 %q, want AA", got)
	}
	old, v := r.patient("MRN-OLD-2")
	if old == nil || v != 1 || old.Get("active").True() || old.Get("name") != nil {
		t.Errorf("merged Patient not created as mapped: %v", old)
	}
}

// TestErrors checks the AE and AR answers: each names its location and
// code, and nothing is stored.
func TestErrors(t *testing.T) {
	r := newRig(t, sqliteURL(t))
	tests := []struct {
		name          string
		msg           []byte
		code, loc, e3 string
	}{
		{"bad birth date", adt("A04", "C1", canaryMRN, "1961XX23"), "AE", "PID^1^7^1", "102"},
		{"no identifier", adt("A04", "C2", "", canaryDOB), "AE", "PID^1^3^1", "101"},
		{"no control id", adt("A04", "", canaryMRN, canaryDOB), "AE", "MSH^1^10^1", "101"},
		{"unparsable segment", append(adt("A04", "C3", canaryMRN, canaryDOB), []byte("P!D|x\r")...), "AE", "", "100"},
		{"bad charset", bytes.Replace(adt("A04", "C4", canaryMRN, canaryDOB), []byte("|P|2.5.1\r"), []byte("|P|2.5.1||||||KLINGON\r"), 1), "AE", "MSH^1^18^1", "102"},
		{"unsupported type", bytes.Replace(adt("A04", "C5", canaryMRN, canaryDOB), []byte("ADT^A04"), []byte("ORU^R01"), 1), "AR", "MSH^1^9^1", "200"},
		{"unsupported event", adt("A99", "C6", canaryMRN, canaryDOB), "AR", "MSH^1^9^1^2", "201"},
		{"old version", bytes.Replace(adt("A04", "C7", canaryMRN, canaryDOB), []byte("|P|2.5.1"), []byte("|P|2.2"), 1), "AR", "MSH^1^12^1", "203"},
		{"new version", bytes.Replace(adt("A04", "C8", canaryMRN, canaryDOB), []byte("|P|2.5.1"), []byte("|P|2.9"), 1), "AR", "MSH^1^12^1", "203"},
		{"invalid FHIR", adt("A04", "C9", canaryMRN, "19611323"), "AE", "", "102"},
		{"not HL7", []byte("hello " + canaryName), "AR", "", "100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack := r.send(tc.msg)[0]
			if got := field(t, ack, "MSA-1"); got != tc.code {
				t.Fatalf("MSA-1 %q, want %s", got, tc.code)
			}
			if got := errLoc(ack); got != tc.loc {
				t.Errorf("ERR-2 %q, want %q", got, tc.loc)
			}
			if got := field(t, ack, "ERR-3.1"); got != tc.e3 {
				t.Errorf("ERR-3 %q, want %s", got, tc.e3)
			}
			if n := r.count(); n != 0 {
				t.Errorf("%d Patients stored after an %s", n, tc.code)
			}
		})
	}
	if !strings.Contains(r.logs.String(), "type=ADT^A04") || !strings.Contains(r.logs.String(), "type=other") {
		t.Errorf("types not logged:\n%s", r.logs)
	}
	r.noCanary()
}

// failingBackend fails every call with err.
type failingBackend struct{ err error }

func (f failingBackend) Seen(context.Context, string, string) (int, []byte, bool, error) {
	return 0, nil, false, nil
}

func (f failingBackend) Commit(context.Context, *server.Request) (*server.Result, error) {
	return nil, f.err
}

func (f failingBackend) Read(context.Context, string, string) ([]byte, int, error) {
	return nil, 0, f.err
}

func (f failingBackend) Ready(context.Context) error { return f.err }

// TestStoreDown: a store that cannot commit gives AE 207 (the sender
// sends again); a cancelled context gives no ACK at all.
func TestStoreDown(t *testing.T) {
	h := &Handler{Translators: map[string]Translator{"ADT": TranslatorFunc(testTranslator)},
		Backend: failingBackend{fmt.Errorf("%w: disk full", server.ErrUnavailable)}, Logger: slog.New(slog.DiscardHandler)}
	ack, out := h.Process(context.Background(), adt("A04", "C1", canaryMRN, canaryDOB), "mllp")
	m, err := hl7v2.Parse(ack)
	if err != nil {
		t.Fatal(err)
	}
	if out.Code != "AE" || field(t, m, "ERR-3.1") != "207" {
		t.Errorf("store down: %s ERR-3 %s, want AE 207", out, field(t, m, "ERR-3.1"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ack, out := h.Process(ctx, adt("A04", "C1", canaryMRN, canaryDOB), "mllp"); ack != nil || out.Code != "" {
		t.Errorf("cancelled: got an ACK (%s)", out)
	}
}

// counter returns the value of a counter with one label value.
func counter(t *testing.T, r *rig, name, label string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
