package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name, path, in string
		want           []Issue
	}{
		{
			name: "appointment missing status and participant",
			in:   `{"resourceType":"Appointment"}`,
			want: []Issue{
				{Severity: "error", Code: "required", Expression: []string{"Appointment.participant"}, Diagnostics: "required element is missing"},
				{Severity: "error", Code: "required", Expression: []string{"Appointment.status"}, Diagnostics: "required element is missing"},
			},
		},
		{
			name: "unknown element, bad instant, bad code, then required",
			path: "Bundle.entry[1].resource",
			in:   `{"resourceType":"Appointment","foo":1,"start":"soon","participant":[{"actor":{"reference":"Patient/1"},"status":"maybe"}]}`,
			want: []Issue{
				{Severity: "error", Code: "structure", Expression: []string{"Bundle.entry[1].resource.Appointment.foo"}, Diagnostics: "unknown element"},
				{Severity: "error", Code: "value", Expression: []string{"Bundle.entry[1].resource.Appointment.participant[0].status"}, Diagnostics: "code not in the required value set"},
				{Severity: "error", Code: "value", Expression: []string{"Bundle.entry[1].resource.Appointment.start"}, Diagnostics: "invalid instant value"},
				{Severity: "error", Code: "required", Expression: []string{"Bundle.entry[1].resource.Appointment.status"}, Diagnostics: "required element is missing"},
			},
		},
		{
			name: "missing resourceType",
			in:   `{"id":"1"}`,
			want: []Issue{{Severity: "error", Code: "structure", Expression: []string{"resourceType"}, Diagnostics: "resourceType is missing or not a string"}},
		},
		{
			name: "wrong resourceType",
			in:   `{"resourceType":"Patent"}`,
			want: []Issue{{Severity: "error", Code: "structure", Expression: []string{"Patent"}, Diagnostics: "unknown resource type"}},
		},
		{
			name: "id dot-dot (admitted by the R4 id rule, but a path step)",
			in:   `{"resourceType":"Patient","id":".."}`,
			want: []Issue{{Severity: "error", Code: "value", Expression: []string{"Patient.id"}, Diagnostics: `id must not be "." or ".." (they are path steps, not ids)`}},
		},
		{
			name: "id dot in a Bundle entry",
			path: "Bundle.entry[0].resource",
			in:   `{"resourceType":"Appointment","id":".","status":"booked","participant":[{"status":"accepted","actor":{"reference":"Patient/1"}}]}`,
			want: []Issue{{Severity: "error", Code: "value", Expression: []string{"Bundle.entry[0].resource.Appointment.id"}, Diagnostics: `id must not be "." or ".." (they are path steps, not ids)`}},
		},
		{
			name: "reference to a wrong type",
			in:   `{"resourceType":"Patient","managingOrganization":{"reference":"Patient/1"}}`,
			want: []Issue{{Severity: "error", Code: "value", Expression: []string{"Patient.managingOrganization"}, Diagnostics: "reference to a resource type not allowed here"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeString(tc.in, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			oo := Validate(v, tc.path)
			if oo == nil {
				t.Fatal("valid")
			}
			if diff := cmp.Diff(tc.want, oo.Issues); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestValidateValid(t *testing.T) {
	v, err := DecodeString(patient2KB(), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oo := Validate(v, ""); oo != nil {
		t.Errorf("valid Patient rejected: %v", oo)
	}
}

// TestPHICanary puts a marker into a name, a phone number and an invalid
// birthDate and checks that no error or outcome text, on any path, has it.
func TestPHICanary(t *testing.T) {
	const c = secret
	patient := `{"resourceType":"Patient","name":[{"family":"` + c + `","given":["` + c + `"]}],` +
		`"telecom":[{"system":"phone","value":"+1 555 ` + c + `"}],"birthDate":"` + c + `",` +
		`"gender":"` + c + `","` + c + `":1,"managingOrganization":{"reference":"urn:uuid:` + c + `"},` +
		`"multipleBirthInteger":"` + c + `","_birthDate":{"x":"` + c + `"}}`
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:` + c + `","resource":` + patient +
		`,"request":{"method":"` + c + `","url":"Patient"}},{"fullUrl":"urn:uuid:` + c + `","resource":` + patient + `}]}`
	var texts []string
	for _, in := range []string{patient, bundle, strings.Replace(patient, `"given"`, `"family"`, 1), patient + c} {
		v, err := DecodeString(in, DecodeOptions{})
		if err != nil {
			texts = append(texts, err.Error(), FromError(err).Error(), string(FromError(err).JSON()))
			continue
		}
		oo := Validate(v, "")
		if oo == nil || len(oo.Issues) < 2 {
			t.Errorf("want several issues, got %v", oo)
		}
		texts = append(texts, oo.Error(), string(oo.JSON()), fmt.Sprintf("%v %+v", oo, oo.Issues))
		for _, strict := range []bool{false, true} {
			_ = Read(strings.NewReader(in), ReadOptions{Strict: strict, OnError: func(_ int, err error) error {
				texts = append(texts, err.Error(), FromError(err).Error())
				return nil
			}}, func(Entry) error { return nil })
		}
		nd := in + "\n" + in + "\n"
		_ = Read(strings.NewReader(nd), ReadOptions{Strict: true, OnError: func(_ int, err error) error {
			texts = append(texts, err.Error())
			return nil
		}}, func(Entry) error { return nil })
	}
	if len(texts) < 5 {
		t.Fatalf("only %d texts checked", len(texts))
	}
	for _, s := range texts {
		if strings.Contains(s, c) || strings.Contains(s, "555") {
			t.Errorf("text carries a value: %s", s)
		}
	}
}

func TestOutcomeJSON(t *testing.T) {
	oo := (*OperationOutcome)(nil).Add(CodeRequired, "Appointment.status", "required element is missing")
	var got map[string]any
	if err := json.Unmarshal(oo.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{
			"severity": "error", "code": "required",
			"expression": []any{"Appointment.status"}, "diagnostics": "required element is missing",
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	var empty *OperationOutcome
	if !strings.Contains(string(empty.JSON()), `"informational"`) {
		t.Errorf("empty outcome: %s", empty.JSON())
	}
	if diff := cmp.Diff("Appointment.status: required element is missing", oo.Error()); diff != "" {
		t.Error(diff)
	}
}

func TestFromError(t *testing.T) {
	_, synErr := DecodeString(`{"resourceType":"Patient","id":1,"id":2}`, DecodeOptions{})
	oo := (*OperationOutcome)(nil).Add(CodeValue, "Patient.birthDate", "invalid date value")
	tests := []struct {
		name string
		err  error
		want *OperationOutcome
	}{
		{"nil", nil, nil},
		{"syntax", fmt.Errorf("reading resource: %w", synErr), &OperationOutcome{Issues: []Issue{{
			Severity: "error", Code: "structure", Expression: []string{"Patient.id"},
			Diagnostics: "line 1 col 34 (Patient.id): duplicate key"}}}},
		{"outcome", &EntryError{Index: 3, Path: "line 3", Err: oo}, oo},
		{"too long", &LineTooLongError{Line: 2, Max: 10}, &OperationOutcome{Issues: []Issue{{
			Severity: "error", Code: "structure", Diagnostics: "line 2 is longer than the limit of 10 bytes"}}}},
		{"other", errors.New("dial tcp: " + secret), &OperationOutcome{Issues: []Issue{{
			Severity: "error", Code: "processing", Diagnostics: "the content could not be processed"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, FromError(tc.err)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	v, err := DecodeString(patient2KB(), DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if oo := Validate(v, ""); oo != nil {
			b.Fatal(oo)
		}
	}
}

func TestValidateCapsIssues(t *testing.T) {
	badNames := func(n int) string {
		return `{"resourceType":"Patient","name":[` + strings.TrimSuffix(strings.Repeat(`{"family":1},`, n), ",") + `]}`
	}
	tests := []struct {
		name      string
		in        string
		wantCount int
		wantMore  bool
	}{
		{"under the cap", badNames(MaxIssues - 1), MaxIssues - 1, false},
		{"at the cap", badNames(MaxIssues), MaxIssues, false},
		{"over the cap", badNames(MaxIssues + 1), MaxIssues + 1, true},
		{"far over the cap", badNames(20 * MaxIssues), MaxIssues + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeString(tc.in, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			oo := Validate(v, "Bundle.entry[0].resource")
			if len(oo.Issues) != tc.wantCount {
				t.Fatalf("%d issues, want %d", len(oo.Issues), tc.wantCount)
			}
			last := oo.Issues[len(oo.Issues)-1]
			more := last.Code == CodeTooCostly
			if more != tc.wantMore {
				t.Fatalf("last issue %+v, want a 'more' issue: %v", last, tc.wantMore)
			}
			if more && (len(last.Expression) != 1 || last.Expression[0] != "Bundle.entry[0].resource.Patient") {
				t.Errorf("more issue at %v", last.Expression)
			}
		})
	}
}

func TestValidateEchoesOnlyElementNames(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"element name", "colour", "Patient.colour"},
		{"primitive extension", "_colour", "Patient._colour"},
		{"64 bytes", strings.Repeat("a", 64), "Patient." + strings.Repeat("a", 64)},
		{"65 bytes", strings.Repeat("a", 65), "Patient.?"},
		{"capitalised word", "Smith", "Patient.?"},
		{"phrase", "ann smith", "Patient.?"},
		{"punctuation", secret, "Patient.?"},
		{"non-ASCII", "jos\u00e9", "Patient.?"},
		{"leading digit", "1970", "Patient.?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, _ := json.Marshal(tc.key)
			v, err := DecodeString(`{"resourceType":"Patient",`+string(key)+`:1}`, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			oo := Validate(v, "")
			if len(oo.Issues) != 1 || len(oo.Issues[0].Expression) != 1 || oo.Issues[0].Expression[0] != tc.want {
				t.Fatalf("issues %+v, want one at %s", oo.Issues, tc.want)
			}
		})
	}
	// an unresolved reference under an unknown element
	v, err := DecodeString(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1",`+
		`"resource":{"resourceType":"Patient","Smith":{"reference":"urn:uuid:2"}},"request":{"method":"POST","url":"Patient"}}]}`, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range Validate(v, "").Issues {
		for _, e := range is.Expression {
			if strings.Contains(e, "Smith") {
				t.Errorf("expression echoes a capitalised key: %s", e)
			}
		}
	}
}
