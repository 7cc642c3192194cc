package mapping

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// er7 joins segment lines with CR.
func er7(lines ...string) string { return strings.Join(lines, "\r") + "\r" }

// siuS12 is a realistic synthetic SIU^S12 (no real patient data).
var siuS12 = er7(
	`MSH|^~\&|SCHED|GOODHEALTH|FHIRBRIDGE|TELECARE|20260102090000||SIU^S12^SIU_S12|MSG00002|P|2.5.1|||AL|NE||UNICODE UTF-8`,
	`SCH|APT0001^SCHED|APT0001^TELECARE||||NEW^New appointment|ROUTINE^Routine^HL70276|FOLLOWUP^Follow-up^HL70277|30|MIN|^^30^20260105100000^20260105103000|0001^DOCTOR^EXAMPLE^^^^^^NPI|^WPN^PH^^1^555^0100001|||0002^SCHEDULER^EXAMPLE||||0001^DOCTOR^EXAMPLE|||||Booked^Booked^HL70278`,
	`NTE|1||Video visit; patient to test camera beforehand`,
	`PID|1||TEST0002^^^GOODHEALTH^MR~~ALT0002^^^OTHER^PI||TESTPATIENT^DELTA^^^^^L||19900202|M|||2 Example Ave^^Springfield^ST^00000^USA^H`,
	`PV1|1|O|TELE^^^GOODHEALTH||||0001^DOCTOR^EXAMPLE^^^^^^NPI`,
	`RGS|1|A`,
	`AIS|1|A|TELEVISIT^Video visit^LOCAL|20260105100000|||30|MIN`,
	`NTE|2||Second note \E\ with escape`,
	`AIL|1|A|VIRTUAL^^^GOODHEALTH|TELE^Telehealth^LOCAL`,
	`AIP|1|A|0001^DOCTOR^EXAMPLE^^^^^^NPI|PHY^Physician^HL70443|||30|MIN`,
	`RGS|2|A`,
	`AIS|2|A|INTERP^Interpreter^LOCAL|20260105100000|||30|MIN`,
	`AIP|2|A|0003^INTERPRETER^EXAMPLE^^^^^^NPI|INT^Interpreter^HL70443|||30|MIN`,
	`ZSC|1|https://video.example/room/0001|TOKEN0001`,
)

func loadV2(t testing.TB, file string) *Mapping {
	t.Helper()
	m, err := Load(os.DirFS("testdata"), file, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

func parseV2(t testing.TB, s string) *hl7v2.Message {
	t.Helper()
	msg, err := hl7v2.Parse([]byte(s))
	if err != nil {
		t.Fatalf("hl7v2.Parse: %v", err)
	}
	return msg
}

func TestReverseMessageSIU(t *testing.T) {
	m := loadV2(t, "hl7v2_siu_bundle.yaml")
	if m.Input() != "hl7v2" || m.ResourceType() != "Bundle" {
		t.Fatalf("Input %q ResourceType %q", m.Input(), m.ResourceType())
	}
	got, err := m.ReverseMessage(parseV2(t, siuS12))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient",` +
		`"identifier":[{"system":"urn:oid:1.2.3.4","value":"TEST0002","type":{"coding":[{"code":"MR"}]}},` +
		`{"system":"urn:oid:1.2.3.4","value":"ALT0002","type":{"coding":[{"code":"PI"}]}}],` +
		`"name":[{"family":"TESTPATIENT","given":["DELTA"]}],"birthDate":"19900202"},` +
		`"request":{"method":"PUT","url":"Patient?identifier=urn:oid:1.2.3.4|TEST0002"}},` +
		`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000002","resource":{"resourceType":"Appointment",` +
		`"status":"booked","identifier":[{"value":"APT0001"}],"description":"Second note \\ with escape",` +
		`"serviceType":[{"coding":[{"code":"TELEVISIT","display":"Video visit"},{"code":"INTERP","display":"Interpreter"}]}],` +
		`"participant":[{"actor":{"identifier":{"value":"0001"}},"status":"accepted"},{"actor":{"identifier":{"value":"0003"}},"status":"accepted"}]},` +
		`"request":{"method":"PUT","url":"Appointment?identifier=APT0001"}}]}`
	if s := string(got.JSON()); s != want {
		t.Errorf("got\n%s\nwant\n%s", s, want)
	}
}

func TestReverseMessageWhenFalse(t *testing.T) {
	m := loadV2(t, "hl7v2_siu_bundle.yaml")
	msg := parseV2(t, strings.Replace(siuS12, "SIU^S12^SIU_S12", "SIU^S26^SIU_S12", 1))
	got, err := m.ReverseMessage(msg)
	if got != nil || err != nil {
		t.Fatalf("got %v, %v; want nil, nil for an event the mapping does not take", got, err)
	}
}

func TestReverseMessageWrongInput(t *testing.T) {
	m := loadV2(t, "hl7v2_siu_bundle.yaml")
	if _, err := m.Reverse(fhir.NewObject()); !errors.Is(err, ErrInput) {
		t.Errorf("Reverse on an hl7v2 mapping: %v, want ErrInput", err)
	}
	if _, err := m.ReverseMessage(nil); !errors.Is(err, ErrInput) {
		t.Errorf("ReverseMessage(nil): %v, want ErrInput", err)
	}
	csv := mustParse(t, "name: t/c\nversion: 1\nsource: r\ndirection: reverse\nresource: Patient\ninput: csv\nfields:\n  - {target: id, from: ID}\n", nil)
	if _, err := csv.ReverseMessage(parseV2(t, siuS12)); !errors.Is(err, ErrInput) {
		t.Errorf("ReverseMessage on a csv mapping: %v, want ErrInput", err)
	}
}

// BenchmarkReverseMessageSIU parses and maps a realistic SIU^S12 into a
// transaction Bundle, as the listener does per MLLP message.
func BenchmarkReverseMessageSIU(b *testing.B) {
	m := loadV2(b, "hl7v2_siu_bundle.yaml")
	data := []byte(siuS12)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		msg, err := hl7v2.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.ReverseMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

const bundleHead = "name: t/b\nversion: 1\nsource: SIU\ndirection: reverse\nresource: Bundle\ninput: hl7v2\nfields:\n"

// TestBundleTargets: targets inside entry.resource are checked against the
// entry's constant resourceType, and left unchecked when it is unknown.
func TestBundleTargets(t *testing.T) {
	tests := []struct{ name, fields, wantErr string }{
		{"flat ok", "  - {target: 'entry[0].resource.resourceType', value: Patient}\n  - {target: 'entry[0].resource.birthDate', from: \"v2('PID-7')\"}\n", ""},
		{"flat bad", "  - {target: 'entry[0].resource.resourceType', value: Patient}\n  - {target: 'entry[0].resource.birthdate', from: \"v2('PID-7')\"}\n",
			"R4 Patient has no element birthdate (did you mean birthDate?)"},
		{"flat other entry unchecked", "  - {target: 'entry[0].resource.resourceType', value: Patient}\n  - {target: 'entry[1].resource.birthdate', from: \"v2('PID-7')\"}\n", ""},
		{"flat type after", "  - {target: 'entry[0].resource.status', value: booked}\n  - {target: 'entry[0].resource.resourceType', value: Patient}\n",
			"R4 Patient has no element status"},
		{"nested ok", "  - target: 'entry[0]'\n    fields:\n      - target: resource\n        fields:\n          - {target: resourceType, value: Appointment}\n          - {target: status, value: booked}\n", ""},
		{"nested bad", "  - target: 'entry[0]'\n    fields:\n      - target: resource\n        fields:\n          - {target: resourceType, value: Appointment}\n          - {target: statuz, value: booked}\n",
			"R4 Appointment has no element statuz (did you mean status?)"},
		{"nested in each", "  - target: entry\n    each: \"v2segments('AIP')\"\n    fields:\n      - target: resource\n        fields:\n          - {target: resourceType, value: Practitioner}\n          - {target: 'identifier[0].valu', from: \"v2('AIP-3')\"}\n",
			"R4 Identifier has no element valu (did you mean value?)"},
		{"entry element checked", "  - {target: 'entry[0].fullURL', value: x}\n", "R4 Bundle.Entry has no element fullURL (did you mean fullUrl?)"},
		{"no constant unchecked", "  - target: 'entry[0]'\n    fields:\n      - target: resource\n        fields:\n          - {target: resourceType, from: \"v2('ZRT-1')\"}\n          - {target: anything, value: x}\n", ""},
		{"unknown type unchecked", "  - {target: 'entry[0].resource.resourceType', value: Wombat}\n  - {target: 'entry[0].resource.pouch', value: x}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(bundleHead+tc.fields), nil, ".", nil)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("loaded; want %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q lacks %q", err, tc.wantErr)
			}
		})
	}
}

func TestV2LoadErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"hl7v2 forward", "name: t/b\nversion: 1\nsource: Patient\ninput: hl7v2\nfields: []\n", "resource, input and columns are for reverse mappings"},
		{"hl7v2 columns", "name: t/b\nversion: 1\nsource: SIU\ndirection: reverse\nresource: Bundle\ninput: hl7v2\ncolumns: [A]\nfields: []\n", "columns is for input csv"},
		{"bad input", "name: t/b\nversion: 1\nsource: SIU\ndirection: reverse\nresource: Bundle\ninput: er7\nfields: []\n", "input must be csv or json or hl7v2"},
		{"bad path", bundleHead + "  - {target: type, from: \"v2('PID5')\"}\n", "m.yaml:8:"},
		{"mismatch", bundleHead + "  - {target: type, from: \"v2segments('AIP').v2('AIS-3')\"}\n", "path names segment AIS but the focus is AIP segments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tc.src), nil, ".", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestV2ItemNotAValue: a field whose expression gives v2 positions
// instead of values is an error, not an empty value.
func TestV2ItemNotAValue(t *testing.T) {
	for _, field := range []string{
		"  - {target: type, from: \"v2segments('PID')\"}\n",
		"  - {target: 'entry', each: \"v2reps('PID-3')\"}\n",
	} {
		m := mustParse(t, bundleHead+field, nil)
		_, err := m.ReverseMessage(parseV2(t, siuS12))
		if !errors.Is(err, errV2Item) {
			t.Errorf("%s: error %v, want errV2Item", field, err)
		}
	}
}

// TestReverseMessageConcurrent: one mapping maps messages from many
// goroutines at once with the same results (run with -race).
func TestReverseMessageConcurrent(t *testing.T) {
	m := loadV2(t, "hl7v2_siu_bundle.yaml")
	want, err := m.ReverseMessage(parseV2(t, siuS12))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				msg, _ := hl7v2.Parse([]byte(siuS12))
				got, err := m.ReverseMessage(msg)
				if err != nil || string(got.JSON()) != string(want.JSON()) {
					errs <- fmt.Sprint("differs: ", err)
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

// TestV2EntryPerSegment: one Bundle entry per AIP with a distinct
// urn:uuid fullUrl from the segment's position, which the Appointment's
// participants repeat to reference them.
func TestV2EntryPerSegment(t *testing.T) {
	const pos = "%resource.v2segments('AIP').select(iif($this = %context, $index + 101, {}))"
	src := bundleHead + `  - target: entry
    each: "v2segments('AIP')"
    fields:
      - target: fullUrl
        concat: ["'urn:uuid:00000000-0000-4000-8000-100000000'", "` + pos + `"]
      - target: resource
        fields:
          - {target: resourceType, value: Practitioner}
          - {target: 'identifier[0].value', from: "v2('AIP-3.1')"}
`
	m := mustParse(t, src, nil)
	got, err := m.ReverseMessage(parseV2(t, siuS12))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Bundle","entry":[` +
		`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-100000000101","resource":{"resourceType":"Practitioner","identifier":[{"value":"0001"}]}},` +
		`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-100000000102","resource":{"resourceType":"Practitioner","identifier":[{"value":"0003"}]}}]}`
	if s := string(got.JSON()); s != want {
		t.Errorf("got\n%s\nwant\n%s", s, want)
	}
}
