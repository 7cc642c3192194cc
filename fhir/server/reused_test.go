package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// conflicts returns fhirbridge_ingest_identifier_conflicts_total.
func (e *env) conflicts() float64 {
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "fhirbridge_ingest_identifier_conflicts_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// TestReusedIdentifierRefused: a Bundle.identifier seen before with a
// different Bundle is answered 409 with an outcome naming the identifier's
// system (never its value), nothing is committed, and the conflict is
// counted; the first Bundle sent again still replays its response.
func TestReusedIdentifierRefused(t *testing.T) {
	p1 := entry("urn:uuid:a", "POST", "Patient", patient)
	p2 := entry("urn:uuid:b", "POST", "Patient", strings.Replace(patient, `"female"`, `"male"`, 1))
	p2b := entry("urn:uuid:b", "POST", "Patient", strings.Replace(patient, `"female"`, `"other"`, 1))
	bad := entry("", "POST", "Appointment", badAppointment)
	tests := []struct {
		name          string
		first, second string
	}{
		{"transaction, one more entry", bundle("transaction", canaryName, p1), bundle("transaction", canaryName, p1, p2)},
		{"transaction, one value changed", bundle("transaction", canaryName, p1), bundle("transaction", canaryName, p2)},
		{"batch, one value changed", bundle("batch", canaryName, p1, p2), bundle("batch", canaryName, p1, p2b)},
		{"batch, one more entry", bundle("batch", canaryName, p1), bundle("batch", canaryName, p1, p2)},
		// Entry 0 was refused the first time (never stored): the reused
		// key of entry 1 must still stop the batch before entry 0 commits.
		{"batch, first entry new", bundle("batch", canaryName, bad, p1), bundle("batch", canaryName, p2, p1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			w1 := e.post("/fhir", tt.first)
			if w1.Code != 200 {
				t.Fatalf("first: %d %s", w1.Code, w1.Body)
			}
			committed := len(e.fb.committed)
			w2 := e.post("/fhir", tt.second)
			if w2.Code != 409 {
				t.Fatalf("reused identifier: %d %s, want 409", w2.Code, w2.Body)
			}
			var oo struct {
				ResourceType string
				Issue        []struct {
					Code, Diagnostics string
					Expression        []string
				}
			}
			if err := json.Unmarshal(w2.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 {
				t.Fatalf("outcome %v: %s", err, w2.Body)
			}
			sum := sha256.Sum256([]byte(canaryName))
			is := oo.Issue[0]
			if is.Code != "conflict" || len(is.Expression) != 1 || is.Expression[0] != "Bundle.identifier" ||
				!strings.Contains(is.Diagnostics, `"urn:ietf:rfc:3986"`) ||
				!strings.Contains(is.Diagnostics, hex.EncodeToString(sum[:6])) {
				t.Errorf("outcome does not name the reused identifier: %s", w2.Body)
			}
			if strings.Contains(w2.Body.String(), "CANARY") || strings.Contains(e.log.String(), "CANARY") {
				t.Errorf("identifier value leaked:\n%s\n%s", w2.Body, e.log)
			}
			if n := len(e.fb.committed); n != committed {
				t.Errorf("%d entries committed by the refused Bundle", n-committed)
			}
			if c := e.conflicts(); c != 1 {
				t.Errorf("conflicts metric %v, want 1", c)
			}
			if w3 := e.post("/fhir", tt.first); w3.Code != 200 || w3.Body.String() != w1.Body.String() {
				t.Errorf("the first Bundle again: %d %s, want its stored response", w3.Code, w3.Body)
			}
		})
	}
}
