package results

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

const (
	codeSys = "urn:hospital:download-code"
	idSys   = "urn:oid:2.16.724.4.40"
)

var pdf = []byte("%PDF-1.4 secret result body")

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// report builds a DiagnosticReport JSON with the given status, date member
// and file member (raw JSON, may be empty).
func report(id, status, patient, code, date, file string) string {
	s := `{"resourceType":"DiagnosticReport","id":"` + id + `","status":"` + status + `","code":{"text":"lab"},` +
		`"identifier":[{"system":"` + codeSys + `","value":"` + code + `"}],"subject":{"reference":"Patient/` + patient + `"}`
	if date != "" {
		s += "," + date
	}
	if file != "" {
		s += "," + file
	}
	return s + "}"
}

func pdfForm(extra string) string {
	return `"presentedForm":[{"contentType":"application/pdf","title":"r.pdf"` + extra + `}]`
}

var fixtures = []string{
	`{"resourceType":"Patient","id":"pat-1","name":[{"family":"Secreto"}],"identifier":[{"system":"` + idSys + `","value":"12345678Z"},{"system":"urn:fhirbridge:tuotempo:user-tid","value":"TT-1"}],"telecom":[{"system":"phone","value":"600000101","use":"mobile"}]}`,
	`{"resourceType":"Patient","id":"pat-2","identifier":[{"system":"` + idSys + `","value":"X0000000T"}]}`,
	report("rep-final", "final", "pat-1", "K1", `"issued":"2026-03-15T09:00:00Z"`, pdfForm(`,"data":"`+b64(pdf)+`"`)),
	report("rep-cancel", "cancelled", "pat-1", "K2", `"issued":"2026-03-20T09:00:00+01:00"`, pdfForm("")),
	report("rep-prelim", "preliminary", "pat-1", "K3", `"issued":"2026-03-20T09:00:00Z"`, pdfForm(`,"data":"`+b64(pdf)+`"`)),
	report("rep-old", "final", "pat-1", "K4", `"issued":"2026-01-01T09:00:00Z"`, pdfForm("")),
	report("rep-other", "final", "pat-2", "K5", `"issued":"2026-03-15T09:00:00Z"`, pdfForm("")),
	report("rep-eff", "amended", "pat-1", "K6", `"effectiveDateTime":"2026-03-10"`, ""),
	report("rep-nodate", "final", "pat-1", "K7", "", pdfForm("")),
	report("rep-bin", "final", "pat-1", "K8", `"issued":"2026-03-16T09:00:00Z"`, pdfForm(`,"url":"Binary/bin-1"`)),
	report("rep-far", "final", "pat-1", "K9", `"issued":"2026-03-16T09:00:00Z"`, pdfForm(`,"url":"https://elsewhere.example.org/r.pdf"`)),
	report("rep-big", "final", "pat-1", "K10", `"issued":"2026-03-16T09:00:00Z"`, pdfForm(`,"data":"`+b64(bytes.Repeat([]byte("x"), 2000))+`"`)),
	`{"resourceType":"Binary","id":"bin-1","contentType":"application/pdf","data":"` + b64(pdf) + `"}`,
	`{"resourceType":"Binary","id":"bin-2","contentType":"application/pdf","data":"` + b64([]byte("from the document reference")) + `"}`,
	`{"resourceType":"DocumentReference","id":"doc-1","status":"current","context":{"related":[{"reference":"DiagnosticReport/rep-eff"}]},"content":[{"attachment":{"contentType":"application/pdf","title":"eff.pdf","url":"Binary/bin-2"}}]}`,
}

// openStore is storetest.Open.
func openStore(t testing.TB, resources ...string) *store.Store {
	t.Helper()
	return storetest.Open(t, resources...)
}

var testNow = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

func testOps(t *testing.T, st *store.Store, log *slog.Logger, max int64) (list, content *ws.Operation) {
	t.Helper()
	cfg := Config{DownloadCodeSystem: codeSys, IDNumberSystem: idSys, MaxContentBytes: max}
	ops, err := operations(cfg, st, log, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	return ops[0], ops[1]
}

// TestResultsList: the patient's Valid and Cancelled reports of the
// window, by USER_LID or USER_TID; preliminary, older, undated and other
// patients' reports are not listed.
func TestResultsList(t *testing.T) {
	st := openStore(t, fixtures...)
	list, _ := testOps(t, st, nil, 1000)
	for _, c := range []struct {
		name   string
		params map[string]string
		want   []string // DOWNLOAD_LID:STATUS
		kind   ws.Kind
	}{
		{"default 30 days by USER_LID", map[string]string{"USER_LID": "pat-1"},
			[]string{"rep-big:Valid", "rep-bin:Valid", "rep-cancel:Cancelled", "rep-eff:Valid", "rep-far:Valid", "rep-final:Valid"}, 0},
		{"since 16/03/2026", map[string]string{"USER_LID": "pat-1", "RESULT_START_DATE": "16/03/2026"},
			[]string{"rep-big:Valid", "rep-bin:Valid", "rep-cancel:Cancelled", "rep-far:Valid"}, 0},
		{"since 01/01/2026 by USER_TID", map[string]string{"USER_TID": "TT-1", "RESULT_START_DATE": "01/01/2026"},
			[]string{"rep-big:Valid", "rep-bin:Valid", "rep-cancel:Cancelled", "rep-eff:Valid", "rep-far:Valid", "rep-final:Valid", "rep-old:Valid"}, 0},
		{"another patient", map[string]string{"USER_LID": "pat-2"}, []string{"rep-other:Valid"}, 0},
		{"a patient without results", map[string]string{"USER_LID": "pat-2", "RESULT_START_DATE": "01/04/2026"}, nil, 0},
		{"bad date", map[string]string{"USER_LID": "pat-1", "RESULT_START_DATE": "2026-03-01"}, nil, ws.BadRequest},
		{"no patient named", map[string]string{}, nil, ws.BadRequest},
		{"unknown USER_LID", map[string]string{"USER_LID": "nobody"}, nil, ws.NotFound},
		{"unknown USER_TID", map[string]string{"USER_TID": "TT-404"}, nil, ws.NotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := list.Call(context.Background(), &ws.Request{Center: "C", Params: c.params})
			if ws.KindOf(err) != c.kind || (c.kind == 0 && err != nil) {
				t.Fatalf("err = %v, want kind %d", err, c.kind)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r["DOWNLOAD_LID"]+":"+r["STATUS"])
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	recs, err := list.Call(context.Background(), &ws.Request{Center: "C", Params: map[string]string{"USER_LID": "pat-1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r["DOWNLOAD_LID"] == "rep-eff" && (r["DOWNLOAD_FILENAME"] != "eff.pdf" || r["DOWNLOAD_TYPE"] != "pdf" || r["DOWNLOAD_CODE"] != "K6") {
			t.Errorf("rep-eff file from the DocumentReference: %v", r)
		}
		if r["USER_ID_NUMBER"] != "12345678Z" || r["USER_MOBILE_PHONE"] != "600000101" || r["USER_TID"] != "TT-1" || r["USER_LID"] != "pat-1" {
			t.Errorf("patient fields of %s: %v", r["DOWNLOAD_LID"], r)
		}
	}
}

// TestResultContent: content only for the right code and ID number, from
// each source, within the bound; every refusal looks the same.
func TestResultContent(t *testing.T) {
	st := openStore(t, fixtures...)
	var logs bytes.Buffer
	_, content := testOps(t, st, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), 1000)
	for _, c := range []struct {
		name, lid, code, idn string
		status, msg          string
		want                 []byte
	}{
		{"inline data", "rep-final", "K1", "12345678Z", "Valid", "", pdf},
		{"stored Binary", "rep-bin", "K8", "12345678Z", "Valid", "", pdf},
		{"DocumentReference's Binary", "rep-eff", "K6", "12345678Z", "Valid", "", []byte("from the document reference")},
		{"wrong code", "rep-final", "K2", "12345678Z", "Cancelled", msgNotFound, nil},
		{"wrong ID number", "rep-final", "K1", "12345678", "Cancelled", msgNotFound, nil},
		{"another patient's number", "rep-final", "K1", "X0000000T", "Cancelled", msgNotFound, nil},
		{"unknown report", "rep-none", "K1", "12345678Z", "Cancelled", msgNotFound, nil},
		{"preliminary", "rep-prelim", "K3", "12345678Z", "Cancelled", msgNotFound, nil},
		{"cancelled", "rep-cancel", "K2", "12345678Z", "Cancelled", msgCancelled, nil},
		{"beyond max_content_bytes", "rep-big", "K10", "12345678Z", "Cancelled", msgUnavailable, nil},
		{"elsewhere url not fetched", "rep-far", "K9", "12345678Z", "Cancelled", msgUnavailable, nil},
		{"no content at all", "rep-cancel", "K2", "12345678Z", "Cancelled", msgCancelled, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := content.Call(context.Background(), &ws.Request{Center: "C", Params: map[string]string{
				"DOWNLOAD_LID": c.lid, "DOWNLOAD_CODE": c.code, "USER_ID_NUMBER": c.idn}})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if r["DOWNLOAD_LID"] != c.lid || r["STATUS"] != c.status || r["ERROR_MESSAGE"] != c.msg || r["DOWNLOAD_CONTENT"] != string(c.want) {
				t.Errorf("got %s/%s/%q/%d bytes, want %s/%q/%d bytes", r["DOWNLOAD_LID"], r["STATUS"], r["ERROR_MESSAGE"], len(r["DOWNLOAD_CONTENT"]), c.status, c.msg, len(c.want))
			}
		})
	}
	for _, secret := range []string{"12345678Z", "X0000000T", "K1", "K10", "secret result", b64(pdf)[:12], "Secreto", "600000101"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "id=rep-final") {
		t.Errorf("log does not name the report id:\n%s", logs.String())
	}
}

// TestResultContentStoreDown: a store failure is a server fault.
func TestResultContentStoreDown(t *testing.T) {
	st := openStore(t, fixtures...)
	list, content := testOps(t, st, nil, 0)
	st.Close()
	for _, op := range []*ws.Operation{list, content} {
		_, err := op.Call(context.Background(), &ws.Request{Center: "C", Params: map[string]string{
			"USER_LID": "pat-1", "DOWNLOAD_LID": "rep-final", "DOWNLOAD_CODE": "K1", "USER_ID_NUMBER": "12345678Z"}})
		if err == nil || ws.KindOf(err) != 0 {
			t.Errorf("%s on a closed store: %v, want a plain error", op.Name, err)
		}
	}
}

// TestConfigValidate: each error names its key; defaults fill in.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want []string
	}{
		{Config{DownloadCodeSystem: "a", IDNumberSystem: "b"}, nil},
		{Config{}, []string{Section + ".download_code_system: required", Section + ".id_number_system: required"}},
		{Config{DownloadCodeSystem: "a", IDNumberSystem: "b", StartDays: -1}, []string{Section + ".start_days"}},
		{Config{DownloadCodeSystem: "a", IDNumberSystem: "b", MaxContentBytes: MaxMaxContentBytes + 1}, []string{Section + ".max_content_bytes"}},
		{Config{DownloadCodeSystem: "a", IDNumberSystem: "b", TimeZone: "Mars/Olympus"}, []string{Section + ".timezone"}},
	} {
		c.cfg.FillDefaults()
		errs := c.cfg.Validate()
		if len(errs) != len(c.want) {
			t.Errorf("%+v: errors %v, want %v", c.cfg, errs, c.want)
			continue
		}
		for i, w := range c.want {
			if !strings.HasPrefix(errs[i].Error(), w) {
				t.Errorf("error %q, want prefix %q", errs[i], w)
			}
		}
	}
	c := Config{DownloadCodeSystem: "a", IDNumberSystem: "b"}
	c.FillDefaults()
	if c.StartDays != 30 || c.MaxContentBytes != 20<<20 || c.TimeZone != "Europe/Madrid" {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := Operations(Config{}, nil, nil); err == nil || !strings.Contains(err.Error(), "download_code_system") {
		t.Errorf("Operations with an empty config: %v", err)
	}
}

// FuzzBase64: the content decoder never panics nor exceeds its bound.
func FuzzBase64(f *testing.F) {
	f.Add(b64(pdf))
	f.Add("====")
	f.Add("QUJD\nREVG")
	s := &service{cfg: Config{MaxContentBytes: 64}}
	f.Fuzz(func(t *testing.T, text string) {
		if b := s.base64(text); int64(len(b)) > s.cfg.MaxContentBytes {
			t.Fatalf("%d bytes beyond the bound", len(b))
		}
	})
}

// BenchmarkResultsList: getTestResultsList for one patient among 1,000
// patients and 10,000 reports in SQLite (a full scan of the reports).
func BenchmarkResultsList(b *testing.B) {
	var res []string
	for i := range 1000 {
		res = append(res, fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"`+idSys+`","value":"N%d"}]}`, i, i))
	}
	for i := range 10000 {
		res = append(res, report(fmt.Sprintf("r%d", i), "final", fmt.Sprintf("p%d", i%1000), "K", `"issued":"2026-03-15T09:00:00Z"`, pdfForm("")))
	}
	st := openStore(b, res...)
	cfg := Config{DownloadCodeSystem: codeSys, IDNumberSystem: idSys}
	ops, err := operations(cfg, st, nil, func() time.Time { return testNow })
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		recs, err := ops[0].Call(context.Background(), &ws.Request{Center: "C", Params: map[string]string{"USER_LID": "p7"}})
		if err != nil || len(recs) != 10 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}

// TestMentions: the pre-filter finds whole references only.
func TestMentions(t *testing.T) {
	for body, want := range map[string]bool{
		`{"reference":"Patient/p7"}`:                             true,
		`{"reference":"https://x/Patient/p7/_history/2"}`:        true,
		`{"reference":"Patient/p70"}`:                            false,
		`{"reference":"Patient/p7x"},{"reference":"Patient/p7"}`: true,
		`{"id":"p7"}`: false,
	} {
		if got := mentions([]byte(body), "Patient/p7"); got != want {
			t.Errorf("mentions(%s) = %v, want %v", body, got, want)
		}
	}
}
