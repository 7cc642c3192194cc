package connectors

import (
	"strings"
	"testing"
)

// Canary values a vendor might echo: none may reach a summary.
var reasonCanaries = []string{"Tweety", "Canaryson", "MRN-CANARY-7731", "7731", "555", "0100", "canary@example.org", "1983-08-15", "1983", "text/x-canary"}

func TestVendorReason(t *testing.T) {
	sent := []byte(`{"mrn":"MRN-CANARY-7731","name":[{"firstName":"Tweety","lastName":"Canaryson"}],"telecom":[{"system":"phone","value":"+1 555 0100"}],"birthDate":"1983-08-15"}`)
	cases := []struct {
		name, body string
		want       string
	}{
		{"solo bad parameters", `{"error":{"message":"Bad parameters [firstName: This value is too long.]"}}`,
			"Bad parameters [firstName: This value is too long.]"},
		{"solo echo, unquoted name, phone, date", `{"error":{"message":"Bad parameters [lastName: Tweety Canaryson born 1983-08-15 with phone +1 555 0100 exists.]","code":"PATIENT_EXISTS"}}`,
			"code PATIENT_EXISTS; Bad parameters [lastName: … born … with … exists.]"},
		{"solo mime type echo", `{"error":{"message":"Mime type \"text/x-canary\" not supported. Available file mime-types: \"application/pdf\", \"image/png\""}}`,
			"Mime type … not supported. Available file mime-types: …"},
		{"tyto", `{"status":422,"message":"Invalid Format of Station Identifier [Empty Identifier]"}`,
			"Invalid Format of Station Identifier [Empty Identifier]"},
		{"operation outcome echoing the body", `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"bad: {\"name\":\"Tweety\"}","expression":["Patient.name[0].given"]}]}`,
			"code invalid; bad: {…}; at Patient.name[0].given"},
		{"validation map", `{"errors":{"email":"canary@example.org is not an e-mail address","birthDate":["must be before 1983-08-15"]}}`,
			"birthDate: must be before …; email: … is not an e-mail address"},
		{"text with markup and quotes", `<html><body><h1>422</h1>Patient 'Tweety' doesn't validate</body></html>`,
			"… Patient … doesn't validate"},
		{"nothing left", `{"error":{"message":"Tweety 7731"}}`, ""},
		{"not JSON, long", strings.Repeat("refused ", 40), strings.Repeat("refused ", 40)[:MaxVendorReason-len("…")] + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := VendorReason([]byte(tc.body), sent)
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			for _, c := range reasonCanaries {
				if strings.Contains(got, c) {
					t.Errorf("canary %q in %q", c, got)
				}
			}
			if len(got) > MaxVendorReason {
				t.Errorf("%d bytes, over %d", len(got), MaxVendorReason)
			}
		})
	}
}
