package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// leakyBackend fails in every way with errors and panics that quote the
// canaries, as a careless driver would.
type leakyBackend struct {
	*fakeBackend
	mode string
}

func (l *leakyBackend) Commit(ctx context.Context, req *Request) (*Result, error) {
	leak := canaryName + " " + canaryPhone
	switch l.mode {
	case "panic":
		panic("inserting " + leak)
	case "other":
		return nil, fmt.Errorf("duplicate key value (family)=(%s)", leak)
	case "unavailable":
		return nil, fmt.Errorf("disk full writing %s: %w", leak, ErrUnavailable)
	case "refused":
		return nil, fmt.Errorf("rule rejects %s: %w", leak, ErrRefused)
	case "conflict":
		return nil, fmt.Errorf("row %s: %w", leak, ErrConflict)
	}
	return l.fakeBackend.Commit(ctx, req)
}

func (l *leakyBackend) Read(ctx context.Context, typ, id string) ([]byte, int, error) {
	if l.mode == "panic" {
		panic("reading " + canaryName)
	}
	return nil, 0, fmt.Errorf("no row %s: %w", canaryName, ErrNotFound)
}

func TestCanaryNeverLeaks(t *testing.T) {
	token := "TOKEN-" + canaryName
	type req struct{ method, path, body string }
	txn := bundle("transaction", canaryName,
		entry("urn:uuid:a", "POST", "Patient", patient), entry("urn:uuid:b", "POST", "Appointment", appointment("urn:uuid:a")))
	requests := []req{
		{"POST", "/fhir", txn},
		{"POST", "/fhir", bundle("batch", "", entry("", "POST", "Patient", patient), entry("", "POST", "Appointment", badAppointment))},
		{"POST", "/fhir", bundle("transaction", "", entry("urn:uuid:a", "POST", "Patient", patient), entry("", "POST", "Appointment", badAppointment))},
		{"POST", "/fhir/Patient", patient},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient","birthDate":"` + canaryName + `"}`},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"` + canaryName + `","family":"x"}]}`},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient","` + canaryName + `":1}`},
		// A key shaped like an element name ("CANARYx1234") is echoed in
		// issue.expression by design of package fhir: keys are schema,
		// not values; keys of any other shape show as "?" (case above).
		{"POST", "/fhir/Patient", `{"resourceType":"Patient","x":"` + canaryPhone + `"}`},
		{"POST", "/fhir/Patient", `{"resourceType":"` + canaryName + `"}`},
		{"POST", "/fhir/Patient", patient + canaryName},
		{"POST", "/fhir/" + canaryName, patient},
		{"PUT", "/fhir/Patient/" + canaryName, patient},
		{"PUT", "/fhir/Patient/" + canaryName, strings.Replace(patient, "{", `{"id":"`+canaryName+`",`, 1)},
		{"GET", "/fhir/Patient/" + canaryName + "?name=" + canaryName, ""},
		{"DELETE", "/fhir/Patient/" + canaryName, ""},
		{"GET", "/" + canaryName, ""},
	}
	modes := []string{"ok", "panic", "other", "unavailable", "refused", "conflict"}
	for _, auth := range []bool{false, true} {
		for _, mode := range modes {
			var opt Options
			if auth {
				opt.Tokens = []TokenHash{HashToken("right")}
			}
			e := newEnv(t, opt)
			e.h = New(&leakyBackend{fakeBackend: e.fb, mode: mode}, Options{
				Tokens: opt.Tokens, Logger: loggerTo(e.log), Registry: e.reg})
			for _, rq := range requests {
				var body *strings.Reader
				if rq.body != "" {
					body = strings.NewReader(rq.body)
				}
				var w = e.do(rq.method, rq.path, nilIfEmpty(body), "Authorization: Bearer "+token)
				if w.Code < 400 {
					continue // a success may echo the resource to its sender
				}
				if strings.Contains(w.Body.String(), "CANARY") || strings.Contains(fmt.Sprint(w.Header()), "CANARY") {
					t.Errorf("auth %v mode %s %s %s: canary in %d response: %s", auth, mode, rq.method, rq.path, w.Code, w.Body)
				}
			}
			if strings.Contains(e.log.String(), "CANARY") {
				t.Errorf("auth %v mode %s: canary in log:\n%s", auth, mode, e.log)
			}
			if m := e.metricsText(t); strings.Contains(m, "CANARY") {
				t.Errorf("auth %v mode %s: canary in metrics", auth, mode)
			}
		}
	}
}

// nilIfEmpty turns a nil *strings.Reader into a nil io.Reader.
func nilIfEmpty(r *strings.Reader) interface {
	Read([]byte) (int, error)
} {
	if r == nil {
		return nil
	}
	return r
}
