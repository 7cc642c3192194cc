package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

// params wraps resource in the Parameters of $validate, with extra
// parameters (rendered JSON objects) after it.
func params(resource string, extra ...string) string {
	ps := append([]string{`{"name":"resource","resource":` + resource + `}`}, extra...)
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

// strictOutcome is what fhir.Validate says of body, as JSON: the answer
// $validate must give when the body is a resource of the right type.
func strictOutcome(t *testing.T, body string) []byte {
	t.Helper()
	v, err := fhir.DecodeString(body, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fhir.Validate(v, "").JSON()
}

const patientWithID = `{"resourceType":"Patient","id":"p1","gender":"female"}`

func TestValidateOperation(t *testing.T) {
	const modeCode = `{"name":"mode","valueCode":"`
	tests := []struct {
		name, path, body string
		want             int
		// for 200: same is the body whose fhir.Validate outcome must be
		// answered ("" for none); else valid says an informational issue
		// alone is expected; expr is an expression that must appear.
		same  string
		valid bool
		expr  string
	}{
		{name: "valid resource", path: "/fhir/Patient/$validate", body: patient, want: 200, valid: true},
		{name: "invalid resource", path: "/fhir/Appointment/$validate", body: badAppointment, want: 200,
			same: badAppointment, expr: "Appointment.status"},
		{name: "unknown element", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient","colour":1}`,
			want: 200, same: `{"resourceType":"Patient","colour":1}`, expr: "Patient.colour"},
		{name: "bad date", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient","birthDate":"1970-13-01"}`,
			want: 200, same: `{"resourceType":"Patient","birthDate":"1970-13-01"}`, expr: "Patient.birthDate"},
		{name: "no resourceType", path: "/fhir/Patient/$validate", body: `{"gender":"female"}`, want: 200,
			same: `{"gender":"female"}`, expr: "resourceType"},
		{name: "Parameters, valid", path: "/fhir/Patient/$validate", body: params(patient), want: 200, valid: true},
		{name: "Parameters, invalid", path: "/fhir/Appointment/$validate", body: params(badAppointment), want: 200,
			same: badAppointment, expr: "Appointment.status"},
		{name: "Parameters, mode create", path: "/fhir/Patient/$validate", body: params(patient, modeCode+`create"}`),
			want: 200, valid: true},
		{name: "Parameters, mode update with id", path: "/fhir/Patient/$validate",
			body: params(patientWithID, modeCode+`update"}`), want: 200, valid: true},
		{name: "Parameters, mode update without id", path: "/fhir/Patient/$validate",
			body: params(patient, modeCode+`update"}`), want: 200, expr: "Patient.id"},
		{name: "query mode update without id", path: "/fhir/Patient/$validate?mode=update", body: patient,
			want: 200, expr: "Patient.id"},
		{name: "query mode create", path: "/fhir/Patient/$validate?mode=create", body: patient, want: 200, valid: true},
		{name: "transaction at the base", path: "/fhir/$validate", body: transactionN(2), want: 200, valid: true},
		{name: "transaction on Bundle", path: "/fhir/Bundle/$validate", body: transactionN(2), want: 200, valid: true},
		{name: "Bundle in Parameters", path: "/fhir/$validate", body: params(transactionN(2)), want: 200, valid: true},
		{name: "invalid entry", path: "/fhir/$validate",
			body: bundle("batch", "", entry("", "POST", "Patient", patient), entry("", "POST", "Appointment", badAppointment)),
			want: 200, same: bundle("batch", "", entry("", "POST", "Patient", patient), entry("", "POST", "Appointment", badAppointment)),
			expr: "Bundle.entry[1].resource.Appointment.status"},
		{name: "searchset Bundle", path: "/fhir/$validate",
			body: `{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":` + patient + `}]}`,
			want: 200, valid: true},

		{name: "type does not match", path: "/fhir/Appointment/$validate", body: patient, want: 400},
		{name: "not a Bundle at the base", path: "/fhir/$validate", body: patient, want: 400},
		{name: "Parameters type does not match", path: "/fhir/Appointment/$validate", body: params(patient), want: 400},
		{name: "not JSON", path: "/fhir/Patient/$validate", body: `{`, want: 400},
		{name: "not an object", path: "/fhir/Patient/$validate", body: `[1]`, want: 400},
		{name: "mode delete", path: "/fhir/Patient/$validate?mode=delete", body: patientWithID, want: 400},
		{name: "unknown mode", path: "/fhir/Patient/$validate?mode=merge", body: patient, want: 400},
		{name: "empty mode", path: "/fhir/Patient/$validate?mode=", body: patient, want: 400},
		{name: "mode twice in the URL", path: "/fhir/Patient/$validate?mode=create&mode=update", body: patient, want: 400},
		{name: "modes that differ", path: "/fhir/Patient/$validate?mode=create", body: params(patientWithID, modeCode+`update"}`), want: 400},
		{name: "Parameters mode delete", path: "/fhir/Patient/$validate", body: params(patientWithID, modeCode+`delete"}`), want: 400},
		{name: "Parameters mode not a code", path: "/fhir/Patient/$validate", body: params(patient, `{"name":"mode","valueCode":1}`), want: 400},
		{name: "profile in the URL", path: "/fhir/Patient/$validate?profile=http://example.org/p", body: patient, want: 400},
		{name: "profile parameter", path: "/fhir/Patient/$validate", body: params(patient, `{"name":"profile","valueUri":"http://example.org/p"}`), want: 400},
		{name: "unknown parameter", path: "/fhir/Patient/$validate", body: params(patient, `{"name":"strict","valueBoolean":true}`), want: 400},
		{name: "two resources", path: "/fhir/Patient/$validate", body: params(patient, `{"name":"resource","resource":`+patient+`}`), want: 400},
		{name: "no resource parameter", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}`, want: 400},
		{name: "no parameter array", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters"}`, want: 400},
		{name: "parameter not an object", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[1]}`, want: 400},
		{name: "parameter without name", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"resource":` + patient + `}]}`, want: 400},
		{name: "resource parameter without resource", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"name":"resource"}]}`, want: 400},
		{name: "resource parameter not an object", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":"x"}]}`, want: 400},
		{name: "extra element in a parameter", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","parameter":[{"name":"resource","valueString":"x","resource":` + patient + `}]}`, want: 400},
		{name: "extra element in Parameters", path: "/fhir/Patient/$validate", body: `{"resourceType":"Parameters","x":1,"parameter":[{"name":"resource","resource":` + patient + `}]}`, want: 400},
		{name: "unserved type", path: "/fhir/Spaceship/$validate", body: patient, want: 404},
		{name: "instance level", path: "/fhir/Patient/p1/$validate", body: patientWithID, want: 404},
	}
	e := newEnv(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.post(tt.path, tt.body)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Errorf("Content-Type %q", ct)
			}
			oo := mustOutcome(t, w.Body.Bytes())
			if strings.Contains(w.Body.String(), canaryName) || strings.Contains(w.Body.String(), canaryPhone) {
				t.Errorf("a patient value in the answer: %s", w.Body)
			}
			if tt.want != 200 {
				if oo.Issue[0].Severity != "error" {
					t.Errorf("refusal with severity %q", oo.Issue[0].Severity)
				}
				return
			}
			if tt.same != "" {
				if want := strictOutcome(t, tt.same); !bytes.Equal(w.Body.Bytes(), want) {
					t.Errorf("answer differs from fhir.Validate:\n got %s\nwant %s", w.Body, want)
				}
			}
			if tt.valid {
				if len(oo.Issue) != 1 || oo.Issue[0].Severity != "information" {
					t.Errorf("valid input answered %s", w.Body)
				}
			} else if oo.Issue[0].Severity != "error" {
				t.Errorf("invalid input answered %s", w.Body)
			}
			if tt.expr != "" && !hasExpression(oo, tt.expr) {
				t.Errorf("no issue at %s in %s", tt.expr, w.Body)
			}
		})
	}
	// $validate is not an ingest: nothing committed, no idempotency
	// record, no rejected body counted.
	if n := e.fb.commitCount(); n != 0 {
		t.Errorf("%d commits", n)
	}
	if n := len(e.fb.seen); n != 0 {
		t.Errorf("%d idempotency records", n)
	}
	for _, reason := range []string{reasonSyntax, reasonInvalid, reasonTooLarge, reasonTooComplex, reasonMediaType} {
		if n := e.rejected(reason); n != 0 {
			t.Errorf("%v bodies counted as rejected (%s)", n, reason)
		}
	}
	if strings.Contains(e.log.String(), canaryName) {
		t.Errorf("a patient value in the log")
	}
}

func hasExpression(oo outcome, expr string) bool {
	for _, is := range oo.Issue {
		for _, x := range is.Expression {
			if x == expr {
				return true
			}
		}
	}
	return false
}

func TestValidateRequest(t *testing.T) {
	const tok = "validate-token"
	tests := []struct {
		name    string
		opt     Options
		method  string
		path    string
		body    string
		headers []string
		want    int
	}{
		{"GET refused", Options{}, "GET", "/fhir/Patient/$validate", "", nil, http.StatusMethodNotAllowed},
		{"PUT refused", Options{}, "PUT", "/fhir/$validate", transactionN(2), nil, http.StatusMethodNotAllowed},
		{"XML body", Options{}, "POST", "/fhir/Patient/$validate", patient, []string{"Content-Type: application/fhir+xml"}, http.StatusUnsupportedMediaType},
		{"XML answer", Options{}, "POST", "/fhir/Patient/$validate", patient, []string{"Accept: application/fhir+xml"}, http.StatusNotAcceptable},
		{"XML answer by _format", Options{}, "POST", "/fhir/Patient/$validate?_format=xml", patient, nil, http.StatusNotAcceptable},
		{"body over the limit", Options{BodyLimit: 64}, "POST", "/fhir/Patient/$validate", patient, nil, http.StatusRequestEntityTooLarge},
		{"too many values", Options{MaxElements: 5}, "POST", "/fhir/Patient/$validate", patient, nil, http.StatusRequestEntityTooLarge},
		{"too many entries", Options{MaxEntries: 1}, "POST", "/fhir/$validate", transactionN(2), nil, http.StatusRequestEntityTooLarge},
		{"too many entries in Parameters", Options{MaxEntries: 1}, "POST", "/fhir/$validate", params(transactionN(2)), nil, http.StatusRequestEntityTooLarge},
		{"no token", Options{Tokens: []TokenHash{HashToken(tok)}}, "POST", "/fhir/Patient/$validate", patient, nil, http.StatusUnauthorized},
		{"no token, unserved type", Options{Tokens: []TokenHash{HashToken(tok)}}, "POST", "/fhir/Spaceship/$validate", patient, nil, http.StatusUnauthorized},
		{"wrong token", Options{Tokens: []TokenHash{HashToken(tok)}}, "POST", "/fhir/$validate", transactionN(2), []string{"Authorization: Bearer nope"}, http.StatusUnauthorized},
		{"token", Options{Tokens: []TokenHash{HashToken(tok)}}, "POST", "/fhir/Patient/$validate", patient, []string{"Authorization: Bearer " + tok}, http.StatusOK},
		{"gzip", Options{}, "POST", "/fhir/Patient/$validate", gz(patient), []string{"Content-Encoding: gzip"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opt)
			var w *httptest.ResponseRecorder
			if tt.body == "" {
				w = e.do(tt.method, tt.path, nil, tt.headers...)
			} else {
				w = e.do(tt.method, tt.path, strings.NewReader(tt.body), tt.headers...)
			}
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			mustOutcome(t, w.Body.Bytes())
			if w.Code == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if e.fb.commitCount() != 0 || len(e.fb.seen) != 0 {
				t.Errorf("committed or recorded")
			}
		})
	}
}

// TestValidateBusy: $validate takes a decoding slot like any body, and
// answers 503 with Retry-After when none frees in time.
func TestValidateBusy(t *testing.T) {
	e := newEnv(t, Options{MaxDecodes: 1, DecodeWait: 10 * time.Millisecond})
	h := e.h.(*handler)
	h.decodes <- struct{}{}
	w := e.post("/fhir/Patient/$validate", patient)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	<-h.decodes
	if w := e.post("/fhir/Patient/$validate", patient); w.Code != http.StatusOK {
		t.Fatalf("after the slot freed: %d", w.Code)
	}
	if len(h.decodes) != 0 {
		t.Errorf("$validate kept its decoding slot")
	}
}

// TestValidateMatchesStrictReader runs $validate over every official R4
// example the repo ships, as shipped (all valid) and broken in three ways,
// and compares its issues with those fhir.Read (strict, as
// `fhirbridge validate` runs it) reports for the same bytes.
func TestValidateMatchesStrictReader(t *testing.T) {
	files, err := fs.Glob(fixtures.R4, "r4/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no R4 examples: %v", err)
	}
	e := newEnv(t, Options{})
	invalid := 0
	for _, f := range files {
		data, err := fs.ReadFile(fixtures.R4, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range fixtureVariants(t, data) {
			t.Run(strings.TrimPrefix(f, "r4/")+"/"+c.name, func(t *testing.T) {
				w := e.post("/fhir/"+c.typ+"/$validate", string(c.body))
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				got := issueKeys(t, w.Body.Bytes())
				want := readerIssues(t, c.body)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("$validate and the strict reader differ:\n got %q\nwant %q", got, want)
				}
				if c.valid != (len(want) == 0) {
					t.Errorf("%d issues", len(want))
				}
				if len(want) > 0 {
					invalid++
				}
			})
		}
	}
	if invalid < 3*len(files)-10 {
		t.Errorf("only %d invalid variants of %d files", invalid, len(files))
	}
}

// variant is a fixture as shipped or broken on purpose.
type variant struct {
	name, typ string
	body      []byte
	valid     bool // what the strict reader must say
}

// fixtureVariants returns data as shipped, then with an unknown element,
// with an id that breaks the R4 pattern, and with a required element
// dropped (Bundle.type, or resourceType): in a Bundle, the first two
// break every entry resource instead (none when its entries hold none).
func fixtureVariants(t *testing.T, data []byte) []variant {
	t.Helper()
	fresh := func() *fhir.Value {
		v, err := fhir.Decode(data, fhir.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	typ := fresh().ResourceType()
	targets := func(v *fhir.Value) []*fhir.Value {
		if typ != "Bundle" {
			return []*fhir.Value{v}
		}
		var out []*fhir.Value
		for _, it := range v.Get("entry").Items {
			if r := it.Get("resource"); r != nil && r.Kind == fhir.Object {
				out = append(out, r)
			}
		}
		return out
	}
	unknown, badID, dropped := fresh(), fresh(), fresh()
	for _, r := range targets(unknown) {
		r.Set("colour", fhir.NewNumber("1"))
	}
	for _, r := range targets(badID) {
		r.Set("id", fhir.NewString("not an id!"))
	}
	drop := "resourceType"
	if typ == "Bundle" {
		drop = "type"
	}
	kept := dropped.Members[:0]
	for _, m := range dropped.Members {
		if m.Key != drop {
			kept = append(kept, m)
		}
	}
	dropped.Members = kept
	none := len(targets(fresh())) == 0
	return []variant{
		{"as shipped", typ, data, true},
		{"unknown element", typ, unknown.JSON(), none},
		{"bad id", typ, badID.JSON(), none},
		{"dropped " + drop, typ, dropped.JSON(), false},
	}
}

// issueKeys returns the error issues of an OperationOutcome body as
// sorted "severity|code|expression|diagnostics" strings.
func issueKeys(t *testing.T, body []byte) []string {
	t.Helper()
	var oo outcome
	if err := json.Unmarshal(body, &oo); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, is := range oo.Issue {
		if is.Severity == "information" {
			continue
		}
		out = append(out, is.Severity+"|"+is.Code+"|"+strings.Join(is.Expression, ",")+"|"+is.Diagnostics)
	}
	sort.Strings(out)
	return out
}

// readerIssues returns, as issueKeys does, every issue fhir.Read in strict
// mode reports for data.
func readerIssues(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	add := func(err error) {
		b := fhir.FromError(err).JSON()
		out = append(out, issueKeys(t, b)...)
	}
	err := fhir.Read(bytes.NewReader(data), fhir.ReadOptions{Strict: true, OnError: func(_ int, err error) error {
		add(err)
		return nil
	}}, func(fhir.Entry) error { return nil })
	if err != nil {
		add(err)
	}
	sort.Strings(out)
	return out
}

func TestCapabilityStatementValidate(t *testing.T) {
	types := []string{"Patient", "Appointment"}
	e := newEnv(t, Options{Types: types})
	w := e.do("GET", "/fhir/metadata", nil)
	v, err := fhir.Decode(w.Body.Bytes(), fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oo := fhir.Validate(v, ""); oo.HasErrors() {
		t.Fatalf("invalid CapabilityStatement: %v", oo)
	}
	type op struct{ Name, Definition string }
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type      string
				Operation []op
			}
			Operation []op
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatalf("%v %s", err, w.Body)
	}
	isValidate := func(ops []op) bool {
		return len(ops) == 1 && ops[0].Name == "validate" && ops[0].Definition == validateOpDefinition
	}
	if !isValidate(cs.Rest[0].Operation) {
		t.Errorf("rest.operation %+v", cs.Rest[0].Operation)
	}
	for _, r := range cs.Rest[0].Resource {
		if !isValidate(r.Operation) {
			t.Errorf("%s: operation %+v", r.Type, r.Operation)
		}
		// what is advertised is served
		if w := e.post("/fhir/"+r.Type+"/$validate", `{"resourceType":"`+r.Type+`"}`); w.Code != http.StatusOK {
			t.Errorf("%s/$validate: %d", r.Type, w.Code)
		}
	}
	if w := e.post("/fhir/$validate", transactionN(2)); w.Code != http.StatusOK {
		t.Errorf("$validate at the base: %d", w.Code)
	}
}

// gz returns s gzip-compressed.
func gz(s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.String()
}
