package fhir

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// secret is a value every hostile case carries, so a test can check that
// no error text quotes the document.
const secret = "CANARY-7f3a"

func TestDecodeRejects(t *testing.T) {
	deep := strings.Repeat(`{"a":`, DefaultMaxDepth+1) + `"` + secret + `"` + strings.Repeat("}", DefaultMaxDepth+1)
	tests := []struct {
		name     string
		in       string
		wantPath string
		wantMsg  string
	}{
		{"duplicate key", `{"resourceType":"Appointment","status":"booked","status":"` + secret + `"}`, "Appointment.status", "duplicate key"},
		{"case variant key", `{"resourceType":"Appointment","status":"booked","Status":"` + secret + `"}`, "Appointment.Status", "differs only in case"},
		{"trailing garbage", `{"resourceType":"Patient","id":"` + secret + `"} x` + secret, "", "after the JSON value"},
		{"depth over limit", deep, "$.a.a.a", "nesting deeper"},
		{"invalid UTF-8", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + secret + "\xff\"}]}", "Patient.name[0].family", "invalid UTF-8"},
		{"bad escape", `{"resourceType":"Patient","id":"` + secret + `\x"}`, "Patient.id", "invalid escape"},
		{"lone surrogate", `{"resourceType":"Patient","id":"` + secret + `\ud800"}`, "Patient.id", "surrogate"},
		{"bad number", `{"resourceType":"Patient","multipleBirthInteger":01}`, "", "expected ','"},
		{"number without digits", `{"resourceType":"Patient","x":1.e5}`, "Patient.x", "no digits"},
		{"unterminated", `{"resourceType":"Patient","id":"` + secret, "Patient.id", "unterminated"},
		{"control character", "{\"resourceType\":\"Patient\",\"id\":\"" + secret + "\n\"}", "Patient.id", "control character"},
		{"empty", ``, "", "unexpected end"},
		{"key with data", `{"resourceType":"Patient","` + secret + ` x":1,"` + secret + ` x":2}`, "Patient.?", "duplicate key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeString(tc.in, DecodeOptions{})
			if v != nil {
				t.Errorf("got a value with an error")
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if !strings.HasPrefix(se.Path, tc.wantPath) {
				t.Errorf("path = %q, want prefix %q", se.Path, tc.wantPath)
			}
			if !strings.Contains(se.Msg, tc.wantMsg) {
				t.Errorf("msg = %q, want %q", se.Msg, tc.wantMsg)
			}
			if se.Line < 1 || se.Col < 1 {
				t.Errorf("line/col = %d/%d", se.Line, se.Col)
			}
			for _, s := range []string{err.Error(), FromError(err).Error(), string(FromError(err).JSON())} {
				if strings.Contains(s, secret) {
					t.Errorf("error text carries a value: %s", s)
				}
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Value
	}{
		{"escapes", `{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, obj("a", NewString("\"\\/\b\f\n\r\té😀"))},
		{"numbers", `[0,-1,1.5,-0.25e10,2E-3]`, NewArray(NewNumber("0"), NewNumber("-1"), NewNumber("1.5"), NewNumber("-0.25e10"), NewNumber("2E-3"))},
		{"literals", `[true,false,null]`, NewArray(NewBool(true), NewBool(false), &Value{Kind: Null})},
		{"empty containers", ` {"a":[],"b":{}} `, obj("a", NewArray(), "b", NewObject())},
		{"order kept", `{"z":1,"a":2}`, obj("z", NewNumber("1"), "a", NewNumber("2"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeString(tc.in, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			again, err := Decode(got.JSON(), DecodeOptions{})
			if err != nil || !cmp.Equal(got, again) {
				t.Errorf("round trip: %v %s", err, cmp.Diff(got, again))
			}
		})
	}
}

func obj(kv ...any) *Value {
	v := NewObject()
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i].(string), kv[i+1].(*Value))
	}
	return v
}

func TestDecodeLineCol(t *testing.T) {
	_, err := DecodeString("{\n  \"resourceType\": \"Patient\",\n  \"id\": 1,\n  \"id\": 2\n}", DecodeOptions{})
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	if diff := cmp.Diff([2]int{4, 3}, [2]int{se.Line, se.Col}); diff != "" {
		t.Errorf("line/col (-want +got)\n%s", diff)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"resourceType":"Patient"}`, `[1,2,{"a":"\u00e9"}]`, `{"a":1,"A":2}`, "\xff", `{"a":`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := DecodeString(s, DecodeOptions{MaxDepth: 20})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || v != nil {
				t.Fatalf("untyped error or value with error: %T %v", err, err)
			}
			return
		}
		if _, err := Decode(v.JSON(), DecodeOptions{MaxDepth: 20}); err != nil {
			t.Fatalf("re-decoding own output: %v", err)
		}
	})
}

func BenchmarkDecodeString(b *testing.B) {
	data := patient2KB()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeString(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// patient2KB returns a synthetic Patient of about 2 KB.
func patient2KB() string {
	var sb strings.Builder
	sb.WriteString(`{"resourceType":"Patient","id":"bench-1","meta":{"versionId":"3","lastUpdated":"2024-05-01T10:00:00Z"},` +
		`"identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345"}],"active":true,"name":[`)
	for i := 0; i < 8; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"use":"official","family":"Chalmers","given":["Peter","James"],"period":{"start":"2001-01-01"}}`)
	}
	sb.WriteString(`],"telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work","rank":1},` +
		`{"system":"email","value":"p.chalmers@example.org"}],"gender":"male","birthDate":"1974-12-25",` +
		`"address":[{"use":"home","line":["534 Erewhon St"],"city":"PleasantVille","state":"Vic","postalCode":"3999"}],` +
		`"contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}]}],` +
		`"name":{"family":"du Marché","given":["Bénédicte"]},"telecom":[{"system":"phone","value":"+33 (237) 998327"}],` +
		`"gender":"female","period":{"start":"2012"}}],"managingOrganization":{"reference":"Organization/1"}}`)
	return sb.String()
}

func TestDecodeLimits(t *testing.T) {
	names := func(n int) string {
		return `{"resourceType":"Patient","name":[` +
			strings.TrimSuffix(strings.Repeat(`{"family":"`+secret+`"},`, n), ",") + `]}`
	}
	tests := []struct {
		name      string
		in        string
		opt       DecodeOptions
		wantErr   bool
		wantPath  string
		wantMsg   string
		line, col int
	}{
		// the object, resourceType, name, 3×(object + family): 9 values
		{"elements at cap", names(3), DecodeOptions{MaxElements: 9}, false, "", "", 0, 0},
		{"elements over cap", names(3), DecodeOptions{MaxElements: 8}, true,
			"Patient.name[2].family", "more than 8 elements", 1, 95},
		{"elements over cap in an array", `{"resourceType":"Patient","x":[0,0,0,0]}`,
			DecodeOptions{MaxElements: 5}, true, "Patient.x[2]", "more than 5 elements", 1, 36},
		{"array at cap", names(3), DecodeOptions{MaxArray: 3}, false, "", "", 0, 0},
		{"array over cap", names(4), DecodeOptions{MaxArray: 3}, true,
			"Patient.name[3]", "more than 3 items in an array", 1, 110},
		{"nested arrays over cap", "[\n[0,0],\n[0,0,0]]", DecodeOptions{MaxArray: 2}, true,
			"$[1][2]", "more than 2 items", 3, 6},
		{"no caps", names(1000), DecodeOptions{}, false, "", "", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeString(tc.in, tc.opt)
			if !tc.wantErr {
				if err != nil || v == nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var se *SyntaxError
			if v != nil || !errors.As(err, &se) || !errors.Is(err, ErrLimit) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("value %v, err = %v, want a *SyntaxError matching ErrLimit", v, err)
			}
			if se.Path != tc.wantPath || !strings.Contains(se.Msg, tc.wantMsg) || se.Line != tc.line || se.Col != tc.col {
				t.Errorf("got %d:%d %q %q, want %d:%d %q %q", se.Line, se.Col, se.Path, se.Msg,
					tc.line, tc.col, tc.wantPath, tc.wantMsg)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error text carries a value: %s", err)
			}
		})
	}
	// A plain syntax error is not a limit.
	if _, err := DecodeString(`{"a":1,"a":2}`, DecodeOptions{MaxElements: 100}); errors.Is(err, ErrLimit) {
		t.Errorf("duplicate key matches ErrLimit: %v", err)
	}
}
