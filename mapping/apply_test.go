package mapping

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func mustParse(t testing.TB, src string, params map[string]string) *Mapping {
	t.Helper()
	m, err := Parse("m.yaml", []byte(src), nil, ".", params)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func mustJSON(t testing.TB, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

const patientJSON = `{"resourceType":"Patient","id":"p1","active":true,
 "name":[{"family":"García","given":["Ana","María"]},{"family":"Old","given":["X"]}],
 "address":[{"line":["Calle 1"],"city":"Madrid"}],
 "telecom":[{"system":"phone","value":"+34 600 11 22 33"}]}`

const jsonMapping = `name: t/json
version: 2
source: Patient
output: json
params:
  clinic: {default: C1}
fields:
  - target: id
    from: id
    required: true
  - target: meta.clinic
    param: clinic
  - target: meta.kind
    value: patient
  - target: meta.version
    value: 2
  - target: full
    concat: [name.first().given.first(), "' '", name.first().family]
  - target: names
    each: name
    fields:
      - target: family
        from: family
      - target: given
        from: given
        type: array
  - target: families
    each: name
    from: family
    transform: [upper]
  - target: allGiven
    each: name.given
    transform: [lower]
  - target: pair
    omit_empty: true
    items:
      - from: deceasedDateTime
      - from: multipleBirthInteger
  - target: address
    from: address.first()
    fields:
      - target: line
        items:
          - from: line.first()
            default: ""
          - from: line.extension.valueString
            default: ""
      - target: city
        from: city
  - target: contact
    from: contact
    fields:
      - target: name
        from: name.text
  - target: empty
    each: contact
    from: name
  - target: gone
    each: contact
    omit_empty: true
  - target: coded.coding[1].code
    value: x
  - target: flagged
    when: active
    value: true
  - target: notflagged
    when: deceased
    value: true
`

func TestApplyJSON(t *testing.T) {
	m := mustParse(t, jsonMapping, nil)
	out, err := m.Apply(mustJSON(t, patientJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"p1","meta":{"clinic":"C1","kind":"patient","version":2},"full":"Ana García",` +
		`"names":[{"family":"García","given":["Ana","María"]},{"family":"Old","given":["X"]}],` +
		`"families":["GARCÍA","OLD"],"allGiven":["ana","maría","x"],"address":{"line":["Calle 1",""],"city":"Madrid"},"empty":[],` +
		`"coded":{"coding":[null,{"code":"x"}]},"flagged":true}`
	if got := string(out.JSON()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if other, err := m.Apply(mustJSON(t, `{"resourceType":"Practitioner","id":"x"}`), nil); other != nil || err != nil {
		t.Errorf("other type: got %v, %v; want nil, nil", other, err)
	}
	if _, err := m.Reverse(mustJSON(t, `{}`)); !errors.Is(err, ErrDirection) {
		t.Errorf("Reverse on forward mapping: %v", err)
	}
}

func TestApplyRowWhen(t *testing.T) {
	m := mustParse(t, head+"when: active\nfields:\n  - target: ID\n    from: id\n  - target: CITY\n    from: address.city\n", nil)
	out, err := m.Apply(mustJSON(t, patientJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out.JSON()); got != `{"ID":"p1","CITY":"Madrid"}` {
		t.Errorf("got %s", got)
	}
	out, err = m.Apply(mustJSON(t, `{"resourceType":"Patient","id":"p2","active":false}`), nil)
	if out != nil || err != nil {
		t.Errorf("when false: got %v, %v", out, err)
	}
}

const reverseMapping = `name: t/cancel
version: 1
direction: reverse
source: tuotempo cancellation row
resource: Appointment
input: csv
columns: [APP_LID, STATUS]
fields:
  - target: id
    from: APP_LID
    required: true
  - target: status
    from: STATUS
    transform:
      - lookup:
          table: {"CANCELLED by USER": cancelled, "CANCELLED by ADMIN": cancelled, APPROVED: booked, PENDING: pending}
          missing: refuse
  - target: cancelationReason.coding[0].code
    from: REASON
  - target: cancelationReason.coding[0].system
    value: "urn:tuotempo:reason"
    when: REASON
`

func TestReverse(t *testing.T) {
	m := mustParse(t, reverseMapping, nil)
	if m.Direction() != Reverse || m.ResourceType() != "Appointment" || m.Input() != "csv" {
		t.Fatalf("header: %v %q %q", m.Direction(), m.ResourceType(), m.Input())
	}
	out, err := m.Reverse(mustJSON(t, `{"APP_LID":"a1","STATUS":"CANCELLED by USER","REASON":"ill"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Appointment","id":"a1","status":"cancelled","cancelationReason":{"coding":[{"code":"ill","system":"urn:tuotempo:reason"}]}}`
	if got := string(out.JSON()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	out, err = m.Reverse(mustJSON(t, `{"APP_LID":"a2","STATUS":"APPROVED"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out.JSON()); got != `{"resourceType":"Appointment","id":"a2","status":"booked"}` {
		t.Errorf("got %s", got)
	}
	if err := m.CheckHeader([]string{"STATUS", "X"}); err == nil || !strings.Contains(err.Error(), `"APP_LID"`) {
		t.Errorf("CheckHeader: %v", err)
	}
	if _, err := m.Apply(mustJSON(t, `{"resourceType":"Appointment"}`), nil); !errors.Is(err, ErrDirection) {
		t.Errorf("Apply on reverse mapping: %v", err)
	}
}

// TestErrorsCarryNoValue checks that a FieldError never quotes the data.
func TestErrorsCarryNoValue(t *testing.T) {
	const canary = "CANARY-9b1"
	tests := []struct{ name, field string }{
		{"required", "  - target: A\n    from: language\n    required: true\n    transform: [{replace: {pattern: 'CANARY.*', with: ''}}]\n"},
		{"truncate", "  - target: A\n    from: language\n    transform: [{truncate: {max: 3, overflow: refuse}}]\n"},
		{"lookup", "  - target: A\n    from: language\n    transform: [{lookup: {table: {x: y}, missing: refuse}}]\n"},
		{"number", "  - target: A\n    from: language\n    transform: [number]\n"},
		{"datetime", "  - target: A\n    from: language\n    transform: [{datetime: {layout: yyyy}}]\n"},
		{"type", "  - target: A\n    from: language\n    type: boolean\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, head+"fields:\n"+tt.field, nil)
			_, err := m.Apply(mustJSON(t, `{"resourceType":"Patient","language":"`+canary+`"}`), nil)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "9b1") {
				t.Errorf("error leaks the value: %v", err)
			}
			if fe.Field != "A" || fe.Expr != "language" || fe.Mapping != "t/x" {
				t.Errorf("FieldError = %+v", fe)
			}
			if !strings.HasPrefix(err.Error(), `mapping t/x: field A (from "language"): `) {
				t.Errorf("error format: %v", err)
			}
		})
	}
}

func TestApplyConcurrent(t *testing.T) {
	m := mustParse(t, jsonMapping, nil)
	want, err := m.Apply(mustJSON(t, patientJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := mustJSON(t, patientJSON)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got, err := m.Apply(in, nil)
				if err != nil || string(got.JSON()) != string(want.JSON()) {
					errs <- "concurrent Apply differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func benchMapping() string {
	var b strings.Builder
	b.WriteString(head + "params:\n  tz: {default: Europe/Madrid}\nfields:\n")
	paths := []string{"id", "name.first().family", "name.first().given.first()", "gender", "birthDate",
		"address.first().city", "address.first().postalCode", "address.first().country", "telecom.first().value", "active"}
	for i, p := range paths {
		b.WriteString("  - target: F" + strconv.Itoa(i) + "\n    from: " + p + "\n")
	}
	for i, p := range paths {
		b.WriteString("  - target: G" + strconv.Itoa(i) + "\n    from: " + p + "\n    transform: [string, trim, upper, csv_escape]\n")
	}
	b.WriteString("  - target: BD\n    from: birthDate\n    transform: [{datetime: {layout: dd/MM/yyyy, zone: '%tz'}}]\n")
	return b.String()
}

func BenchmarkApply(b *testing.B) {
	m := mustParse(b, benchMapping(), nil)
	in := mustJSON(b, `{"resourceType":"Patient","id":"p1","active":true,"gender":"female","birthDate":"1980-02-29",
	 "name":[{"family":"García","given":["Ana"]}],"telecom":[{"system":"phone","value":"+34600112233"}],
	 "address":[{"city":"Madrid","postalCode":"28001","country":"ES"}]}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Apply(in, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
