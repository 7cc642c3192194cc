package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

func TestConvertDTM(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		loc  *time.Location
		want string // "" = error
	}{
		{"2026", time.UTC, "2026"},
		{"202601", time.UTC, "2026-01"},
		{"20260105", time.UTC, "2026-01-05"},
		{"20260105-0500", time.UTC, "2026-01-05"}, // a date has no zone
		{"2026010510", time.UTC, "2026-01-05T10:00:00+00:00"},
		{"202601051030", time.UTC, "2026-01-05T10:30:00+00:00"},
		{"20260105103015", time.UTC, "2026-01-05T10:30:15+00:00"},
		{"20260105103015.1234", time.UTC, "2026-01-05T10:30:15.1234+00:00"},
		{"20260105103015+0100", ny, "2026-01-05T10:30:15+01:00"}, // the written offset wins
		{"20260105103015-0330", time.UTC, "2026-01-05T10:30:15-03:30"},
		{"20260105103015", ny, "2026-01-05T10:30:15-05:00"},
		{"20260705103015", ny, "2026-07-05T10:30:15-04:00"}, // summer time
		{"20240229", time.UTC, "2024-02-29"},
		{"20250229", time.UTC, ""},
		{"0000", time.UTC, ""},
		{"20261301", time.UTC, ""},
		{"20260100", time.UTC, ""},
		{"2026010524", time.UTC, ""},
		{"202601051060", time.UTC, ""},
		{"20260105103060", time.UTC, ""},
		{"202601051", time.UTC, ""},
		{"2026-01-05", time.UTC, ""},
		{"20260105103015+01", time.UTC, ""},
		{"20260105103015+1500", time.UTC, ""},
		{"20260105103015.", time.UTC, ""},
		{"202601051030.5", time.UTC, ""},
		{"20260105103015.1234567890", time.UTC, ""},
		{"", time.UTC, ""},
		{"abcd", time.UTC, ""},
		{strings.Repeat("1", 100), time.UTC, ""},
	}
	// in the DST gap the digits are kept, with either offset
	if got, err := convertDTM("20260308023000", ny); err != nil || (got != "2026-03-08T02:30:00-05:00" && got != "2026-03-08T02:30:00-04:00") {
		t.Errorf("DST gap: %q, %v", got, err)
	}
	for _, tc := range tests {
		got, err := convertDTM(tc.in, tc.loc)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: got %q, want an error", tc.in, got)
			} else if !errors.Is(err, errBadDTM) {
				t.Errorf("%q: error %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q in %v: got %q, %v; want %q", tc.in, tc.loc, got, err, tc.want)
		}
	}
}

const dtmMapping = `name: t/dtm
version: 1
source: ADT
direction: reverse
resource: Patient
input: hl7v2
params:
  zone: {default: Europe/Rome}
fields:
  - target: birthDate
    from: "v2('PID-7')"
    transform: [v2datetime]
  - target: extension[0].url
    value: "https://example.org/admit"
  - target: extension[0].valueDateTime
    from: "v2('PV1-44')"
    transform:
      - v2datetime: {zone: "%zone"}
`

func TestV2DateTimeTransform(t *testing.T) {
	m := mustParse(t, dtmMapping, nil)
	msg := parseV2(t, er7(`MSH|^~\&|A|B|C|D|20260102090000||ADT^A01|1|P|2.5.1`,
		`PID|1||X1||SURNAME^GIVEN||19900202`, "PV1"+strings.Repeat("|", 44)+"20260705103000"))
	got, err := m.ReverseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","birthDate":"1990-02-02","extension":[{"url":"https://example.org/admit","valueDateTime":"2026-07-05T10:30:00+02:00"}]}`
	if s := string(got.JSON()); s != want {
		t.Errorf("got %s\nwant %s", s, want)
	}
	if _, err := Parse("m.yaml", []byte(strings.Replace(dtmMapping, "[v2datetime]", "[{v2datetime: {zone: Mars/Base}}]", 1)), nil, ".", nil); err == nil || !strings.Contains(err.Error(), `unknown time zone "Mars/Base"`) {
		t.Errorf("bad zone: %v", err)
	}
	if _, err := Parse("m.yaml", []byte(strings.Replace(dtmMapping, "[v2datetime]", "[{v2datetime: {zon: UTC}}]", 1)), nil, ".", nil); err == nil {
		t.Error("unknown key accepted")
	}
}

// TestV2DateTimeError: a bad DTM is a *FieldError naming the field and
// the expression, not the value; V2Location gives PID-7.
func TestV2DateTimeError(t *testing.T) {
	m := mustParse(t, dtmMapping, nil)
	msg := parseV2(t, er7(`MSH|^~\&|A|B|C|D|20260102090000||ADT^A01|1|P|2.5.1`, `PID|1||X1||SURNAME^GIVEN||19903131`))
	_, err := m.ReverseMessage(msg)
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	if fe.Field != "birthDate" || fe.Expr != "v2('PID-7')" || !errors.Is(err, errBadDTM) {
		t.Errorf("got field %q expr %q err %v", fe.Field, fe.Expr, err)
	}
	for _, v := range []string{"19903131", "SURNAME", "GIVEN", "X1"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error %q contains the value %q", err, v)
		}
	}
	if loc := V2Location(err); loc != "PID-7" {
		t.Errorf("V2Location = %q, want PID-7", loc)
	}
}

func TestV2Location(t *testing.T) {
	escErr := func() error {
		msg := parseV2(t, er7(`MSH|^~\&|A|B|C|D|20260102090000||ADT^A01|1|P|2.5.1`, `NTE|1||x`, `NTE|2||bad \Q\ x`))
		_, err := msg.Get("NTE[2]-3")
		return err
	}()
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("x"), ""},
		{&FieldError{Expr: "v2('PID-7')"}, "PID-7"},
		{fmt.Errorf("wrapped: %w", &FieldError{Expr: "v2('PID-5[1].1')"}), "PID-5[1].1"},
		{&FieldError{Expr: `v2("SCH-11.4")`}, "SCH-11.4"},
		{&FieldError{Expr: "v2reps('PID-3').v2('1')"}, "PID-3"},
		{&FieldError{Expr: "v2('4.1')"}, ""},
		{&FieldError{Expr: "v2('4.1') & v2('AIP-3')"}, "AIP-3"},
		{&FieldError{Expr: "iif(v2('MSH-9.2') = 'S12', v2('SCH-1'), v2('SCH-2'))"}, "MSH-9.2"},
		{&FieldError{Expr: "v2segments('AIP').v2('AIP[2]-3')"}, "AIP[2]-3"},
		{&FieldError{Expr: "myv2('PID-3')"}, ""},
		{&FieldError{Expr: "v2('PID-3"}, ""},
		{&FieldError{Expr: "%event"}, ""},
		{&FieldError{Expr: "v2('NTE-3')", Err: escErr}, "NTE[2]-3[1].1"},
		{escErr, "NTE[2]-3[1].1"},
		{&hl7v2.Error{}, ""},
	}
	for _, tc := range tests {
		if got := V2Location(tc.err); got != tc.want {
			t.Errorf("V2Location(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// FuzzV2DateTime: convertDTM never panics; what it accepts becomes a FHIR
// date or dateTime whose digits are the input's, and what it refuses is
// errBadDTM.
func FuzzV2DateTime(f *testing.F) {
	for _, s := range []string{"2026", "202601", "20260105", "2026010510", "20260105103015.1234+0100", "20260105103015-0330",
		"20250229", "2026010524", "20260105103015+1500", "", "+0000", "2026.5", "20260105103015.", "00000101"} {
		f.Add(s)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := convertDTM(s, ny)
		if err != nil {
			if !errors.Is(err, errBadDTM) {
				t.Fatalf("%q: error %v", s, err)
			}
			return
		}
		var digits strings.Builder
		for _, c := range got {
			if c == '+' || c == '-' && digits.Len() >= 14 {
				break
			}
			if c >= '0' && c <= '9' {
				digits.WriteRune(c)
			}
		}
		body, _, _ := strings.Cut(strings.NewReplacer("+", " ", "-", " ").Replace(s), " ")
		want := strings.ReplaceAll(body, ".", "")
		if digits.String() != want && !strings.HasPrefix(digits.String(), want) {
			t.Fatalf("%q → %q: digits changed", s, got)
		}
		if strings.HasPrefix(got, "0000") {
			t.Fatalf("%q → %q: FHIR has no year 0000", s, got)
		}
		switch len(got) {
		case 4, 7, 10:
			if _, err := time.Parse("2006-01-02", got+"-01-01"[:10-len(got)]); err != nil {
				t.Fatalf("%q → %q: not a FHIR date", s, got)
			}
		default:
			if _, err := time.Parse(time.RFC3339Nano, got); err != nil {
				t.Fatalf("%q → %q: not a FHIR dateTime: %v", s, got, err)
			}
		}
	})
}
