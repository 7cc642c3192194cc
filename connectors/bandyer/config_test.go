package bandyer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"minimal", Config{BaseURL: "https://tele.example/api/"}, ""},
		{"no base_url", Config{}, "connectors.bandyer.base_url: required"},
		{"ftp base_url", Config{BaseURL: "ftp://x"}, "connectors.bandyer.base_url: must be an http or https URL"},
		{"query", Config{BaseURL: "https://x/?a=1"}, "connectors.bandyer.base_url: must have no user info"},
		{"bad port", Config{BaseURL: "https://x:99999"}, "connectors.bandyer.base_url: port 99999"},
		{"api_key line break", Config{BaseURL: "https://x", APIKey: "a\nb"}, "connectors.bandyer.api_key"},
		{"negative immutable", Config{BaseURL: "https://x", ImmutablePeriod: -1}, "connectors.bandyer.immutable_period"},
		{"negative timeout", Config{BaseURL: "https://x", Timeout: -1}, "connectors.bandyer.timeout"},
		{"header with a space", Config{BaseURL: "https://x", UserHeader: "X User"}, "connectors.bandyer.user_header"},
		{"language with a space", Config{BaseURL: "https://x", Language: "e n"}, "connectors.bandyer.language"},
		{"empty plus group", Config{BaseURL: "https://x", PlusGroups: []string{"doctor", " "}}, "connectors.bandyer.plus_groups[1]"},
		{"PractitionerRole key", Config{BaseURL: "https://x", Groups: map[string]string{"PractitionerRole": "doctor"}}, "connectors.bandyer.groups.PractitionerRole"},
		{"empty group", Config{BaseURL: "https://x", Groups: map[string]string{"Patient": ""}}, "connectors.bandyer.groups.Patient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "a\nb") {
				t.Fatal("the error shows the key")
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	s, err := validate(Config{BaseURL: "https://x/", Groups: map[string]string{"RelatedPerson": "patient", "224535009": "nurse"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.userHeader != "X-Bandyer-User" || s.language != "en" || s.timeout != 30*time.Second || !s.plus["doctor"] || len(s.plus) != 1 || s.immutable != 0 {
		t.Fatalf("defaults %+v", s)
	}
	for _, tc := range []struct {
		typ   string
		codes []string
		want  string
	}{
		{"Patient", nil, "patient"}, {"Practitioner", nil, "doctor"}, {"RelatedPerson", nil, "patient"},
		{"PractitionerRole", []string{"x", "224535009"}, "nurse"}, {"PractitionerRole", []string{"x"}, "doctor"},
		{"PractitionerRole", []string{"Patient"}, "doctor"}, // a type name is not a code
	} {
		if g := s.groupOf(tc.typ, tc.codes); g != tc.want {
			t.Errorf("groupOf(%s, %v) = %q, want %q", tc.typ, tc.codes, g, tc.want)
		}
	}
}

func TestCheckConfigNeedsAPlusGroupInTheTable(t *testing.T) {
	ok, _ := New(Config{BaseURL: "https://x"})
	if err := (&module{conn: ok}).CheckConfig(); err != nil {
		t.Fatal(err)
	}
	bad, _ := New(Config{BaseURL: "https://x", PlusGroups: []string{"admin"}})
	if err := (&module{conn: bad}).CheckConfig(); err == nil || !strings.Contains(err.Error(), "connectors.bandyer.groups") {
		t.Fatalf("err %v", err)
	}
}

func TestIntakeCheck(t *testing.T) {
	c, _ := New(Config{BaseURL: "https://x"})
	check := c.IntakeCheck()
	for _, tc := range []struct {
		name, json string
		want       []string // expressions named; nil = accepted
	}{
		{"valid", `{"resourceType":"Appointment","status":"booked","start":"2027-01-10T10:00:00Z","end":"2027-01-10T10:30:00Z",
			"participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"Practitioner/d1"}}]}`, nil},
		{"a role counts as a practitioner", `{"resourceType":"Appointment","status":"booked","start":"2027-01-10T10:00:00Z","end":"2027-01-10T10:30:00Z",
			"participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"https://ehr/fhir/PractitionerRole/r1/_history/2"}}]}`, nil},
		{"no start", `{"resourceType":"Appointment","status":"booked","end":"2027-01-10T10:30:00Z","participant":[{"actor":{"reference":"Practitioner/d1"}}]}`,
			[]string{"Appointment.start"}},
		{"no start nor end", `{"resourceType":"Appointment","status":"proposed","participant":[{"actor":{"reference":"Practitioner/d1"}}]}`,
			[]string{"Appointment.start", "Appointment.end"}},
		{"end before start", `{"resourceType":"Appointment","status":"booked","start":"2027-01-10T10:00:00Z","end":"2027-01-10T09:30:00Z",
			"participant":[{"actor":{"reference":"Practitioner/d1"}}]}`, []string{"Appointment.end"}},
		{"no plus user", `{"resourceType":"Appointment","status":"booked","start":"2027-01-10T10:00:00Z","end":"2027-01-10T10:30:00Z",
			"participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"Location/l1"}}]}`, []string{"Appointment.participant"}},
		{"cancelled is not checked", `{"resourceType":"Appointment","status":"cancelled"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := fhir.Decode([]byte(tc.json), fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = check(v)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var oo *fhir.OperationOutcome
			if !errors.As(err, &oo) {
				t.Fatalf("err %v, want an OperationOutcome", err)
			}
			out := string(oo.JSON())
			for _, w := range tc.want {
				if !strings.Contains(out, `"`+w+`"`) {
					t.Fatalf("outcome %s does not name %s", out, w)
				}
			}
			if n := strings.Count(out, `"expression"`); n != len(tc.want) {
				t.Fatalf("outcome %s has %d issues, want %d", out, n, len(tc.want))
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c, _ := New(Config{BaseURL: "https://x", APIKey: connectors.Secret("top-secret")})
	for _, s := range []string{fmtV(c), c.BaseURL()} {
		if strings.Contains(s, "top-secret") {
			t.Fatalf("printed %q", s)
		}
	}
}
