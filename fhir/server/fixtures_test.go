package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Canary strings: patient values that must never leave in an error,
// a log line or a metric.
const (
	canaryName  = "CANARY-1234"
	canaryPhone = "+1-555-CANARY-1234"
)

// patient is a valid Patient carrying the canaries.
const patient = `{"resourceType":"Patient","name":[{"family":"` + canaryName + `","given":["Ann"]}],` +
	`"telecom":[{"system":"phone","value":"` + canaryPhone + `"}],"gender":"female","birthDate":"1970-01-01"}`

// appointment is a valid Appointment referencing the Patient of fullUrl ref.
func appointment(ref string) string {
	return `{"resourceType":"Appointment","status":"booked","description":"` + canaryName + `",` +
		`"participant":[{"actor":{"reference":"` + ref + `"},"status":"accepted"}]}`
}

// badAppointment lacks the required status.
const badAppointment = `{"resourceType":"Appointment","comment":"` + canaryName + `",` +
	`"participant":[{"status":"accepted"}]}`

// entry renders one transaction or batch entry.
func entry(fullURL, method, url, resource string) string {
	s := `{`
	if fullURL != "" {
		s += `"fullUrl":"` + fullURL + `",`
	}
	if resource != "" {
		s += `"resource":` + resource + `,`
	}
	return s + `"request":{"method":"` + method + `","url":"` + url + `"}}`
}

// bundle renders a Bundle; identifier may be "".
func bundle(typ, identifier string, entries ...string) string {
	s := `{"resourceType":"Bundle","type":"` + typ + `",`
	if identifier != "" {
		s += `"identifier":{"system":"urn:ietf:rfc:3986","value":"` + identifier + `"},`
	}
	return s + `"entry":[` + strings.Join(entries, ",") + `]}`
}

// transactionN renders a valid transaction of n entries: Patients and
// Appointments referencing them.
func transactionN(n int) string {
	es := make([]string, n)
	for i := range es {
		u := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i)
		if i%2 == 0 {
			es[i] = entry(u, "POST", "Patient", patient)
		} else {
			prev := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i-1)
			es[i] = entry(u, "POST", "Appointment", appointment(prev))
		}
	}
	return bundle("transaction", "", es...)
}

// outcome is the part of an OperationOutcome the tests look at.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Diagnostics string   `json:"diagnostics"`
		Expression  []string `json:"expression"`
	} `json:"issue"`
}

// mustOutcome parses body as an OperationOutcome with at least one issue.
func mustOutcome(t testing.TB, body []byte) outcome {
	t.Helper()
	var oo outcome
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome (%v): %.300s", err, body)
	}
	return oo
}

// responseBundle is the part of a response Bundle the tests look at.
type responseBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Response struct {
			Status   string          `json:"status"`
			Location string          `json:"location"`
			Etag     string          `json:"etag"`
			Outcome  json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}
