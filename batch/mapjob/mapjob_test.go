package mapjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
	"github.com/google/go-cmp/cmp"
)

// canary is planted in the data of failing records; no error may repeat it.
const canary = "CANARY-4242"

// patientIDs is a forward json mapping: Patient → {"id", "family"}; the id
// is required and at most 20 characters (refused when longer).
const patientIDs = `
name: test/patient-ids
version: 1
direction: forward
source: Patient
output: json
fields:
  - target: id
    from: id
    required: true
    transform:
      - truncate: {max: 20, overflow: refuse}
  - target: family
    from: name.first().family
`

// patientRow is patientIDs as a CSV row mapping, with a `when` that skips
// inactive patients.
const patientRow = `
name: test/patient-row
version: 1
direction: forward
source: Patient
output: row
when: "active.exists().not() or active = true"
fields:
  - target: ID
    from: id
    required: true
  - target: FAMILY
    from: name.first().family
  - target: BORN
    from: birthDate
    transform:
      - datetime: {layout: dd/MM/yyyy}
`

func parse(t testing.TB, src string) *mapping.Mapping {
	t.Helper()
	m, err := mapping.Parse("test.yaml", []byte(src), nil, ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func shippedMapping(t testing.TB, name string, params map[string]string) *mapping.Mapping {
	t.Helper()
	p, ok := shipped.Path(name)
	if !ok {
		t.Fatalf("no shipped mapping %s", name)
	}
	m, err := mapping.Load(shipped.FS, p, params)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// result is what one run produced.
type result struct {
	out  string
	errs []*RecordError
	st   Stats
	err  error
}

// where lists the locations of the reported errors, in order.
func (r result) where() []string {
	var w []string
	for _, e := range r.errs {
		w = append(w, e.Where)
	}
	return w
}

func run(t testing.TB, opt Options) result {
	t.Helper()
	var out bytes.Buffer
	var r result
	opt.Out = &out
	opt.OnError = func(e *RecordError) { r.errs = append(r.errs, e) }
	r.st, r.err = Run(context.Background(), opt)
	r.out = out.String()
	return r
}

func patient(id string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":"Fam-%s"}]}`, id, id)
}

// jsonLines decodes NDJSON output into objects.
func jsonLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		recs = append(recs, m)
	}
	return recs
}

func ids(recs []map[string]any, key string) []string {
	var out []string
	for _, r := range recs {
		s, _ := r[key].(string)
		out = append(out, s)
	}
	return out
}

// checkStats asserts the counters add up: every record read is written,
// skipped by `when`/type or failed, and Failed equals the errors reported.
func checkStats(t testing.TB, r result) {
	t.Helper()
	if r.st.Failed != len(r.errs) {
		t.Errorf("Stats.Failed = %d, OnError called %d times", r.st.Failed, len(r.errs))
	}
	if r.st.Read != r.st.Written+r.st.Skipped+r.st.Failed {
		t.Errorf("stats do not add up: %+v (read != written + skipped + failed)", r.st)
	}
	if r.st.Failed > 0 && !errors.Is(r.err, ErrRecordsFailed) {
		t.Errorf("Run error = %v, want ErrRecordsFailed", r.err)
	}
	if r.st.Failed == 0 && r.err != nil {
		t.Errorf("Run error = %v with no failed record", r.err)
	}
}

// 1. Output is in input order whatever the number of workers.
func TestOrderKept(t *testing.T) {
	m := parse(t, patientIDs)
	const n = 10000
	var in strings.Builder
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("p%05d", i)
		in.WriteString(patient(want[i]))
		in.WriteByte('\n')
	}
	for _, workers := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			r := run(t, Options{Mapping: m, In: strings.NewReader(in.String()), Format: NDJSON, Workers: workers})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if diff := cmp.Diff(want, ids(jsonLines(t, r.out), "id")); diff != "" {
				t.Errorf("output order differs from input (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Stats{Read: n, Written: n}, r.st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

// 2. Bad NDJSON lines are reported once each with their physical line;
// the rest is written.
func TestBadLines(t *testing.T) {
	m := parse(t, patientIDs)
	lines := []string{
		patient("ok1"), // 1
		"",             // 2 blank
		`{"resourceType":"Patient","id":"bad","name":[{"family":"x"}`, // 3 malformed (unclosed)
		`{"resourceType":"Patient","id":"a","id":"b"}`,                // 4 duplicate key
		patient("ok2"),               // 5
		`["resourceType","Patient"]`, // 6 not an object
		`{"resourceType":"Observation","id":"obs1","status":"final"}`, // 7 other type: skipped
		`{"id":"no-type"}`, // 8 no resourceType
		"   \t",            // 9 blank (white space)
		patient("ok3"),     // 10
		`{"resourceType":"Patient","name":[{"family":"noid"}]}`, // 11 mapping fails: required id
		`42`,           // 12 not an object
		patient("ok4"), // 13
		`{"resourceType":"Patient","id":"this-id-is-longer-than-twenty"}`, // 14 truncate refuse
		patient("ok5"), // 15
	}
	in := strings.Join(lines, "\n") + "\n"
	for _, crlf := range []bool{false, true} {
		t.Run(fmt.Sprintf("crlf=%v", crlf), func(t *testing.T) {
			input := in
			if crlf {
				input = strings.ReplaceAll(in, "\n", "\r\n")
			}
			r := run(t, Options{Mapping: m, In: strings.NewReader(input), Format: NDJSON, Workers: 3})
			if diff := cmp.Diff([]string{"line 3", "line 4", "line 6", "line 8", "line 11", "line 12", "line 14"}, r.where()); diff != "" {
				t.Errorf("error locations (-want +got):\n%s", diff)
			}
			wantMsg := map[string]string{"line 4": "duplicate key", "line 6": "array", "line 8": "resourceType", "line 11": "field id", "line 12": "number", "line 14": "longer"}
			for _, e := range r.errs {
				if s, ok := wantMsg[e.Where]; ok && !strings.Contains(e.Error(), s) {
					t.Errorf("%s: error %q does not mention %q", e.Where, e, s)
				}
				if !strings.HasPrefix(e.Error(), e.Where+": ") {
					t.Errorf("error %q does not start with its location", e)
				}
			}
			if diff := cmp.Diff([]string{"ok1", "ok2", "ok3", "ok4", "ok5"}, ids(jsonLines(t, r.out), "id")); diff != "" {
				t.Errorf("written records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Stats{Read: 13, Written: 5, Skipped: 1, Failed: 7}, r.st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			checkStats(t, r)
			if !errors.Is(r.err, ErrRecordsFailed) {
				t.Errorf("Run error = %v, want ErrRecordsFailed", r.err)
			}
		})
	}
}

// A line longer than the 1 MiB read buffer (but under MaxLine) is gathered
// whole and does not shift the line numbers after it.
func TestLongLine(t *testing.T) {
	m := parse(t, patientIDs)
	long := fmt.Sprintf(`{"resourceType":"Patient","id":"long","name":[{"family":"F","given":[%q]}]}`, strings.Repeat("g", 3<<20))
	in := patient("first") + "\n" + long + "\n" + `{"resourceType":"Patient"}` + "\n" + patient("last") + "\n"
	r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: NDJSON, Workers: 2})
	if diff := cmp.Diff([]string{"line 3"}, r.where()); diff != "" {
		t.Errorf("error locations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"first", "long", "last"}, ids(jsonLines(t, r.out), "id")); diff != "" {
		t.Errorf("written records (-want +got):\n%s", diff)
	}
	checkStats(t, r)
}

// A line over MaxLine would need a test-only limit; MaxLine is a constant
// (64 MiB), so that case is not exercised here.
func TestLineOverMaxLine(t *testing.T) {
	t.Skip("MaxLine is a constant (64 MiB) with no test hook; a line over it is not generated here")
}

// The input may begin with blank lines: they count as lines and the
// records after them are still mapped.
func TestLeadingBlankLines(t *testing.T) {
	fwd := parse(t, patientIDs)
	rev := shippedMapping(t, "tuotempo/cancellation", nil)
	tests := []struct {
		name  string
		m     *mapping.Mapping
		in    string
		ids   []string
		where []string
	}{
		{"ndjson", fwd, "\n\n" + patient("a") + "\n{\"resourceType\":\"Patient\"}\n" + patient("b") + "\n", []string{"a", "b"}, []string{"line 4"}},
		{"document", fwd, "\n  \n" + patient("a") + "\n", []string{"a"}, nil},
		{"reverse ndjson", rev, "\r\n" + `{"APP_LID":"a1","STATUS":"APPROVED"}` + "\n" + `{"APP_LID":"a2","STATUS":"NOPE"}` + "\n", []string{"a1"}, []string{"line 3"}},
		{"reverse csv", rev, "\n" + cancellationHeader + "\na1;;;;p;APPROVED\na2;;;;p;NOPE\n", []string{"a1"}, []string{"line 4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, Options{Mapping: tc.m, In: strings.NewReader(tc.in), Format: NDJSON, Workers: 2})
			if diff := cmp.Diff(tc.ids, ids(jsonLines(t, r.out), "id")); diff != "" {
				t.Errorf("written records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.where, r.where()); diff != "" {
				t.Errorf("error locations (-want +got):\n%s", diff)
			}
			checkStats(t, r)
		})
	}
}

// bundleJSON builds a pretty-printed Bundle (one JSON document over many
// lines) of the given type and entries.
func bundleJSON(t testing.TB, typ string, entries ...map[string]any) string {
	t.Helper()
	b := map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data) + "\n"
}

func entry(fullURL string, res map[string]any) map[string]any {
	e := map[string]any{"fullUrl": fullURL, "resource": res}
	rt := res["resourceType"].(string)
	if id, ok := res["id"].(string); ok {
		e["request"] = map[string]any{"method": "PUT", "url": rt + "/" + id}
	} else {
		e["request"] = map[string]any{"method": "POST", "url": rt}
	}
	return e
}

const (
	urnPatient      = "urn:uuid:7a1c0e52-0001-4c1e-8f00-000000000001"
	urnPractitioner = "urn:uuid:7a1c0e52-0002-4c1e-8f00-000000000002"
	urnLocation     = "urn:uuid:7a1c0e52-0003-4c1e-8f00-000000000003"
)

func patientRes(phone string) map[string]any {
	return map[string]any{
		"resourceType": "Patient",
		"name":         []any{map[string]any{"family": "Ejemplo", "given": []any{"Ana"}}},
		"telecom":      []any{map[string]any{"system": "phone", "use": "mobile", "value": phone}},
	}
}

func practitionerRes() map[string]any {
	return map[string]any{
		"resourceType": "Practitioner", "id": "prac-1",
		"name": []any{map[string]any{"family": "Pruebas", "given": []any{"Andrés"}}},
	}
}

func locationRes() map[string]any {
	return map[string]any{"resourceType": "Location", "id": "loc-1", "name": "Sala 1", "status": "active"}
}

// appointment refers to the patient, the practitioner and the location by
// their urn:uuid fullUrls; start "" leaves start (required by the export,
// not by FHIR) out, status "" leaves status (required by FHIR) out.
func appointmentRes(id, status, start string) map[string]any {
	a := map[string]any{
		"resourceType": "Appointment", "id": id,
		"participant": []any{
			map[string]any{"actor": map[string]any{"reference": urnPatient}, "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": urnPractitioner}, "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": urnLocation}, "status": "accepted"},
		},
	}
	if status != "" {
		a["status"] = status
	}
	if start != "" {
		a["start"] = start
		a["end"] = start
	}
	return a
}

// 3. A single multi-line transaction Bundle: entries mapped with their
// references resolved; an entry failure is located by its entry index.
func TestBundleInput(t *testing.T) {
	m := shippedMapping(t, "tuotempo/export", map[string]string{"timezone": "UTC"})
	in := bundleJSON(t, "transaction",
		entry(urnPatient, patientRes("+34 600 000 001")),
		entry(urnPractitioner, practitionerRes()),
		entry("urn:uuid:7a1c0e52-0004-4c1e-8f00-000000000004", appointmentRes("appt-bad", "booked", "")), // no start: APP_DATE required
		entry("urn:uuid:7a1c0e52-0005-4c1e-8f00-000000000005", appointmentRes("appt-1", "booked", "2026-03-02T09:30:00Z")),
		entry(urnLocation, locationRes()),
		entry("urn:uuid:7a1c0e52-0006-4c1e-8f00-000000000006", appointmentRes("appt-2", "booked", "2026-03-03T17:05:00Z")),
	)
	if strings.Count(in, "\n") < 20 {
		t.Fatal("the Bundle should span many lines")
	}
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			r := run(t, Options{Mapping: m, In: strings.NewReader(in), Workers: workers})
			if diff := cmp.Diff([]string{"input: Bundle.entry[2]"}, r.where()); diff != "" {
				t.Errorf("error locations (-want +got):\n%s", diff)
			}
			if len(r.errs) == 1 && !strings.Contains(r.errs[0].Error(), "APP_DATE") {
				t.Errorf("error %q does not name the field", r.errs[0])
			}
			want := "APP_LID,APP_DATE,APP_START_TIME,USER_LANDLINE_PHONE,USER_MOBILE_PHONE,USER_EMAIL,RESOURCE_LID,RESOURCE_NAME,RESOURCE_MOBILE_PHONE,RESOURCE_EMAIL,LOCATION_LID,LOCATION_NAME\n" +
				"appt-1,02/03/2026,09:30,,+34600000001,,prac-1,Andrés Pruebas,,,loc-1,Sala 1\n" +
				"appt-2,03/03/2026,17:05,,+34600000001,,prac-1,Andrés Pruebas,,,loc-1,Sala 1\n"
			if diff := cmp.Diff(want, r.out); diff != "" {
				t.Errorf("CSV output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Stats{Read: 6, Written: 2, Skipped: 3, Failed: 1}, r.st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			checkStats(t, r)
		})
	}
}

// Bundles as NDJSON lines: the location names the line and the entry.
func TestBundleNDJSON(t *testing.T) {
	m := shippedMapping(t, "tuotempo/export", map[string]string{"timezone": "UTC"})
	compact := func(s string) string {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	good := compact(bundleJSON(t, "collection",
		entry(urnPatient, patientRes("600")), entry(urnPractitioner, practitionerRes()),
		entry("urn:uuid:a1", appointmentRes("a1", "booked", "2026-03-02T09:30:00Z"))))
	bad := compact(bundleJSON(t, "collection",
		entry(urnPatient, patientRes("600")), entry(urnPractitioner, practitionerRes()),
		entry("urn:uuid:a2", appointmentRes("a2", "booked", "2026-03-02T09:30:00Z")),
		entry("urn:uuid:a3", appointmentRes("a3", "booked", ""))))
	in := good + "\n\n" + bad + "\n"
	r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: NDJSON, Workers: 2})
	if diff := cmp.Diff([]string{"line 3: Bundle.entry[3]"}, r.where()); diff != "" {
		t.Errorf("error locations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a1", "a2"}, ids(jsonLines(t, r.out), "APP_LID")); diff != "" {
		t.Errorf("written records (-want +got):\n%s", diff)
	}
	checkStats(t, r)
}

// 4. Strict validation: a batch Bundle fails entry by entry, a transaction
// Bundle all or nothing.
func TestStrict(t *testing.T) {
	m := shippedMapping(t, "tuotempo/export", map[string]string{"timezone": "UTC"})
	entries := func() []map[string]any {
		return []map[string]any{
			entry(urnPatient, patientRes("600")),
			entry(urnPractitioner, practitionerRes()),
			entry(urnLocation, locationRes()),
			entry("urn:uuid:a1", appointmentRes("a1", "booked", "2026-03-02T09:30:00Z")),
			entry("urn:uuid:a2", appointmentRes("a2", "", "2026-03-02T10:30:00Z")), // no status: invalid R4
			entry("urn:uuid:a3", appointmentRes("a3", "booked", "2026-03-02T11:30:00Z")),
		}
	}
	t.Run("batch", func(t *testing.T) {
		in := bundleJSON(t, "batch", entries()...)
		r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: NDJSON, Strict: true})
		if diff := cmp.Diff([]string{"input: Bundle.entry[4]"}, r.where()); diff != "" {
			t.Fatalf("error locations (-want +got):\n%s", diff)
		}
		if msg := r.errs[0].Error(); !strings.Contains(msg, "Bundle.entry[4].resource.Appointment.status") {
			t.Errorf("error %q does not give the element path of the problem", msg)
		}
		if diff := cmp.Diff([]string{"a1", "a3"}, ids(jsonLines(t, r.out), "APP_LID")); diff != "" {
			t.Errorf("written records (-want +got):\n%s", diff)
		}
		checkStats(t, r)
	})
	t.Run("transaction", func(t *testing.T) {
		in := bundleJSON(t, "transaction", entries()...)
		r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: NDJSON, Strict: true})
		if diff := cmp.Diff([]string{"input"}, r.where()); diff != "" {
			t.Fatalf("error locations (-want +got):\n%s", diff)
		}
		if msg := r.errs[0].Error(); !strings.Contains(msg, "transaction") || !strings.Contains(msg, "Bundle.entry[4].resource.Appointment.status") {
			t.Errorf("error %q should refuse the transaction and name the element path", msg)
		}
		if r.out != "" {
			t.Errorf("a refused transaction wrote %q", r.out)
		}
		if r.st.Written != 0 || r.st.Failed != 1 {
			t.Errorf("stats %+v, want nothing written and one failure", r.st)
		}
		checkStats(t, r)
	})
	t.Run("not strict maps the invalid entry", func(t *testing.T) {
		in := bundleJSON(t, "transaction", entries()...)
		r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: NDJSON})
		if r.err != nil || len(r.errs) != 0 {
			t.Fatalf("err %v, record errors %v", r.err, r.errs)
		}
		if diff := cmp.Diff([]string{"a1", "a2", "a3"}, ids(jsonLines(t, r.out), "APP_LID")); diff != "" {
			t.Errorf("written records (-want +got):\n%s", diff)
		}
	})
	t.Run("ndjson resource", func(t *testing.T) {
		in := patient("p1") + "\n" + `{"resourceType":"Patient","id":"p2","gender":"sometimes"}` + "\n" + patient("p3") + "\n"
		r := run(t, Options{Mapping: parse(t, patientIDs), In: strings.NewReader(in), Format: NDJSON, Strict: true})
		if diff := cmp.Diff([]string{"line 2"}, r.where()); diff != "" {
			t.Fatalf("error locations (-want +got):\n%s", diff)
		}
		if msg := r.errs[0].Error(); !strings.Contains(msg, "Patient.gender") {
			t.Errorf("error %q does not give the element path", msg)
		}
		if diff := cmp.Diff([]string{"p1", "p3"}, ids(jsonLines(t, r.out), "id")); diff != "" {
			t.Errorf("written records (-want +got):\n%s", diff)
		}
		checkStats(t, r)
	})
}

// 5. Output formats.
func TestFormats(t *testing.T) {
	jsonMap := parse(t, patientIDs)
	rowMap := parse(t, patientRow)
	many := func(n int) (string, []string) {
		var b strings.Builder
		var want []string
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("p%d", i)
			want = append(want, id)
			b.WriteString(patient(id) + "\n")
		}
		return b.String(), want
	}
	t.Run("json array", func(t *testing.T) {
		for _, n := range []int{0, 1, 2, 255, 256, 257, 600} {
			in, want := many(n)
			for _, workers := range []int{1, 3} {
				r := run(t, Options{Mapping: jsonMap, In: strings.NewReader(in), Format: JSON, Workers: workers})
				if r.err != nil {
					t.Fatalf("n=%d: %v", n, r.err)
				}
				var got []map[string]any
				if err := json.Unmarshal([]byte(r.out), &got); err != nil {
					t.Fatalf("n=%d workers=%d: output is not one JSON array: %v\n%.300s", n, workers, err, r.out)
				}
				if diff := cmp.Diff(want, ids(got, "id")); diff != "" {
					t.Errorf("n=%d workers=%d: records (-want +got):\n%s", n, workers, diff)
				}
			}
		}
	})
	t.Run("json array with failures and skips between chunks", func(t *testing.T) {
		// whole chunks (256 lines) that write nothing must not leave an
		// extra or missing comma
		var b strings.Builder
		var want []string
		for i := 0; i < 1200; i++ {
			switch {
			case i >= 256 && i < 512: // a chunk of failures
				b.WriteString(`{"resourceType":"Patient"}` + "\n")
			case i >= 700 && i < 1000: // other types: skipped
				b.WriteString(`{"resourceType":"Observation","id":"o"}` + "\n")
			default:
				id := fmt.Sprintf("p%d", i)
				want = append(want, id)
				b.WriteString(patient(id) + "\n")
			}
		}
		r := run(t, Options{Mapping: jsonMap, In: strings.NewReader(b.String()), Format: JSON, Workers: 4})
		var got []map[string]any
		if err := json.Unmarshal([]byte(r.out), &got); err != nil {
			t.Fatalf("output is not one JSON array: %v", err)
		}
		if diff := cmp.Diff(want, ids(got, "id")); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		checkStats(t, r)
	})
	t.Run("csv", func(t *testing.T) {
		tests := []struct {
			name, in string
			opt      Options
			want     string
		}{
			{"rows", patient("a") + "\n" + `{"resourceType":"Patient","id":"b","birthDate":"1980-04-02","name":[{"family":"Smith, Jr"}]}` + "\n",
				Options{}, "ID,FAMILY,BORN\na,Fam-a,\nb,\"Smith, Jr\",02/04/1980\n"},
			{"delimiter and crlf", patient("a") + "\n" + patient("b") + "\n",
				Options{Delimiter: ';', CRLF: true}, "ID;FAMILY;BORN\r\na;Fam-a;\r\nb;Fam-b;\r\n"},
			{"empty input", "", Options{}, "ID,FAMILY,BORN\n"},
			{"blank input", "\n\n  \n", Options{}, "ID,FAMILY,BORN\n"},
			{"every record skipped", `{"resourceType":"Observation","id":"o"}` + "\n" + `{"resourceType":"Patient","id":"x","active":false}` + "\n",
				Options{}, "ID,FAMILY,BORN\n"},
			{"every record failed", `{"resourceType":"Patient"}` + "\n", Options{}, "ID,FAMILY,BORN\n"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				opt := tc.opt
				opt.Mapping, opt.In = rowMap, strings.NewReader(tc.in) // Format empty: CSV for a row mapping
				r := run(t, opt)
				if diff := cmp.Diff(tc.want, r.out); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
				checkStats(t, r)
			})
		}
	})
	t.Run("csv many chunks", func(t *testing.T) {
		in, want := many(600)
		r := run(t, Options{Mapping: rowMap, In: strings.NewReader(in), Workers: 4})
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		if lines[0] != "ID,FAMILY,BORN" {
			t.Fatalf("header %q", lines[0])
		}
		var got []string
		for _, l := range lines[1:] {
			got = append(got, strings.Split(l, ",")[0])
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		for _, n := range []int{0, 1, 600} {
			in, want := many(n)
			r := run(t, Options{Mapping: rowMap, In: strings.NewReader(in), Format: NDJSON, Workers: 2})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if n > 0 && !strings.HasSuffix(r.out, "}\n") {
				t.Errorf("n=%d: NDJSON output does not end with a record and a newline", n)
			}
			if strings.Count(r.out, "\n") != n {
				t.Errorf("n=%d: %d lines", n, strings.Count(r.out, "\n"))
			}
			if diff := cmp.Diff(want, ids(jsonLines(t, r.out), "ID")); diff != "" {
				t.Errorf("n=%d: records (-want +got):\n%s", n, diff)
			}
		}
	})
	t.Run("bad options", func(t *testing.T) {
		rev := shippedMapping(t, "tuotempo/cancellation", nil)
		for _, opt := range []Options{
			{Mapping: jsonMap, Format: "xml"},
			{Mapping: rev, Format: CSV},
			{},
		} {
			opt.In = strings.NewReader(patient("a") + "\n")
			r := run(t, opt)
			if r.err == nil || errors.Is(r.err, ErrRecordsFailed) || r.out != "" {
				t.Errorf("format %q: err %v, output %q; want a usage error and no output", opt.Format, r.err, r.out)
			}
		}
	})
}

const cancellationHeader = "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS"

// 6. Reverse: the vendor's CSV (or NDJSON) into FHIR resources.
func TestReverseCSV(t *testing.T) {
	m := shippedMapping(t, "tuotempo/cancellation", nil)
	rows := []string{
		"\ufeff" + cancellationHeader,                    // 1, with a BOM
		"appt-1;;+34600000001;;prac-1;CANCELLED by USER", // 2
		`appt-2;"+34 910`,                                // 3: a quoted field with a line break…
		`000 001";;;prac-1;APPROVED`,                     // 4: …ends here
		"",                                               // 5 blank
		"appt-3;;;;prac-1;RESCHEDULED",                   // 6: unknown status
		`appt-4;;;;"prac-1"x;PENDING`,                    // 7: malformed quote
		"appt-5;;;prac-1;PENDING",                        // 8: a field missing
		"appt-6;;;;prac-1;CANCELLED by ADMIN",            // 9
	}
	in := strings.Join(rows, "\r\n") + "\r\n"
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			r := run(t, Options{Mapping: m, In: strings.NewReader(in), Workers: workers})
			var lines []string
			for _, e := range r.errs {
				lines = append(lines, lineOf(e))
			}
			if diff := cmp.Diff([]string{"line 6", "line 7", "line 8"}, lines); diff != "" {
				t.Errorf("error lines (-want +got):\n%s\n%v", diff, r.errs)
			}
			recs := jsonLines(t, r.out)
			if diff := cmp.Diff([]string{"appt-1", "appt-2", "appt-6"}, ids(recs, "id")); diff != "" {
				t.Errorf("written resources (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"cancelled", "booked", "cancelled"}, ids(recs, "status")); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			for _, rec := range recs {
				if rec["resourceType"] != "Appointment" {
					t.Errorf("resourceType %v", rec["resourceType"])
				}
			}
			if diff := cmp.Diff(Stats{Read: 6, Written: 3, Failed: 3}, r.st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			checkStats(t, r)
		})
	}
	t.Run("json array", func(t *testing.T) {
		r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: JSON})
		var got []map[string]any
		if err := json.Unmarshal([]byte(r.out), &got); err != nil {
			t.Fatalf("not one JSON array: %v", err)
		}
		if len(got) != 3 {
			t.Errorf("%d resources, want 3", len(got))
		}
	})
	t.Run("header lacks a column", func(t *testing.T) {
		var progressed bool
		in := "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID\r\nappt-1;;;;prac-1\r\n"
		var out bytes.Buffer
		var errs int
		st, err := Run(context.Background(), Options{Mapping: m, In: strings.NewReader(in), Out: &out,
			OnError: func(*RecordError) { errs++ }, OnProgress: func(int64) { progressed = true }})
		if err == nil || errors.Is(err, ErrRecordsFailed) || !strings.Contains(err.Error(), `"STATUS"`) {
			t.Errorf("err = %v, want a header error naming STATUS", err)
		}
		if st != (Stats{}) || out.Len() != 0 || errs != 0 || progressed {
			t.Errorf("mapped something: stats %+v, output %q, %d record errors, progress %v", st, out.String(), errs, progressed)
		}
	})
	t.Run("bad header", func(t *testing.T) {
		_, err := Run(context.Background(), Options{Mapping: m, In: strings.NewReader("APP_LID;APP_LID\n"), Out: &bytes.Buffer{}})
		if err == nil || errors.Is(err, ErrRecordsFailed) {
			t.Errorf("err = %v, want a header error", err)
		}
	})
	t.Run("header only", func(t *testing.T) {
		r := run(t, Options{Mapping: m, In: strings.NewReader(cancellationHeader + "\n"), Format: JSON})
		if r.err != nil || r.st != (Stats{}) {
			t.Fatalf("err %v stats %+v", r.err, r.st)
		}
		var got []any
		if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 0 {
			t.Errorf("output %q: want an empty JSON array (%v)", r.out, err)
		}
	})
}

// lineOf returns the "line N" an error locates, from Where or from the
// flatfile error it wraps.
func lineOf(e *RecordError) string {
	s := e.Error()
	s = strings.TrimPrefix(s, "flatfile: ")
	if i := strings.Index(s, ":"); i > 0 {
		return s[:i]
	}
	return s
}

func TestReverseNDJSON(t *testing.T) {
	m := shippedMapping(t, "tuotempo/cancellation", nil)
	in := strings.Join([]string{
		`{"APP_LID":"a1","STATUS":"CANCELLED by USER"}`, // 1
		``,                                        // 2
		`{"APP_LID":"a2","STATUS":"APPROVED"`,     // 3 malformed
		`{"APP_LID":"a3","STATUS":"MAYBE"}`,       // 4 unknown status
		`{"APP_LID":"","STATUS":"PENDING"}`,       // 5 no id
		`{"APP_LID":" a6 ","STATUS":" PENDING "}`, // 6
	}, "\n")
	r := run(t, Options{Mapping: m, In: strings.NewReader(in), Workers: 2}) // no trailing newline
	if diff := cmp.Diff([]string{"line 3", "line 4", "line 5"}, r.where()); diff != "" {
		t.Errorf("error locations (-want +got):\n%s", diff)
	}
	want := []map[string]any{
		{"resourceType": "Appointment", "id": "a1", "status": "cancelled", "cancelationReason": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", "code": "pat", "display": "Patient"}}}},
		{"resourceType": "Appointment", "id": "a6", "status": "pending"},
	}
	if diff := cmp.Diff(want, jsonLines(t, r.out)); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Read: 5, Written: 2, Failed: 3}, r.st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	checkStats(t, r)
}

// 9. No error text repeats a value from a failing record.
func TestNoPHIInErrors(t *testing.T) {
	fwd := parse(t, patientRow)
	rev := shippedMapping(t, "tuotempo/cancellation", nil)
	export := shippedMapping(t, "tuotempo/export", map[string]string{"timezone": "UTC"})
	c := canary
	longID := strings.Repeat(c, 6) // over APP_LID's 50 characters
	tests := []struct {
		name   string
		m      *mapping.Mapping
		strict bool
		in     string
		fails  int
	}{
		{"forward", fwd, false, strings.Join([]string{
			patient("ok"),
			`{"resourceType":"Patient","id":"` + c + `","name":[{"family":"` + c + `"}],"telecom":[{"value":"` + c + `"}],`, // malformed
			`{"resourceType":"Patient","id":"` + c + `","id":"` + c + `"}`,                                                  // duplicate key
			`{"resourceType":"Patient","` + c + `":1,"` + c + `":2}`,                                                        // duplicate key that is data
			`{"resourceType":"Patient","id":"x","name":[{"family":"` + c + `"}],"birthDate":"` + c + `"}`,                   // bad date
			`{"resourceType":"Patient","name":[{"family":"` + c + `"}],"telecom":[{"value":"` + c + `"}]}`,                  // no id
			`{"resourceType":"` + c + `","id":"` + c + `"}`,                                                                 // unknown type: skipped
			`"` + c + `"`, // not an object
			`{"resourceType":"Patient","id":"bad\u00zz` + c + `"}`,                         // bad escape
			`{"resourceType":"Patient","id":"x","name":[{"family":"` + c + "\xff" + `"}]}`, // invalid UTF-8
		}, "\n") + "\n", 8},
		{"strict", fwd, true, strings.Join([]string{
			patient("ok"),
			`{"resourceType":"Patient","id":"` + c + `","gender":"` + c + `","telecom":[{"system":"` + c + `","value":"` + c + `"}]}`,
			`{"resourceType":"Patient","id":"x","birthDate":"` + c + `","name":[{"family":"` + c + `"}]}`,
			`{"resourceType":"Patient","id":"x","` + c + `":"` + c + `","name":"` + c + `"}`,
			`{"resourceType":"Patient","id":"x","active":"` + c + `"}`,
		}, "\n") + "\n", 4},
		{"bundle", export, false, bundleJSON(t, "transaction",
			entry(urnPatient, patientRes(c)),
			entry(urnPractitioner, practitionerRes()),
			entry("urn:uuid:"+c, appointmentRes(longID, "booked", "2026-03-02T09:30:00Z")),
			entry("urn:uuid:x", appointmentRes(c, "booked", c)),
		), 2},
		{"strict bundle", export, true, bundleJSON(t, "batch",
			entry(urnPatient, patientRes(c)),
			entry(urnPractitioner, practitionerRes()),
			entry("urn:uuid:"+c, appointmentRes(c, c, "2026-03-02T09:30:00Z")),
			entry(c, appointmentRes(c, "booked", c)),
		), 2},
		{"reverse csv", rev, false, cancellationHeader + "\n" + strings.Join([]string{
			c + ";" + c + ";" + c + ";" + c + ";" + c + ";" + c, // unknown status
			c + ";;;;;APPROVED;" + c,                            // field count
			c + `;"` + c + `"` + c + ";;;;APPROVED",             // bad quote
			longID + ";;;;;APPROVED",                            // id too long
			c + ";;;;;\"" + c,                                   // unclosed quote to the end
		}, "\n"), 5},
		{"reverse ndjson", rev, false, strings.Join([]string{
			`{"APP_LID":"` + c + `","STATUS":"` + c + `"}`,
			`{"APP_LID":"` + longID + `","STATUS":"APPROVED"}`,
			`{"APP_LID":"` + c + `","STATUS":["` + c + `"]}`,
			`{"APP_LID":"` + c + `","` + c + `":1,"` + c + `":2}`,
		}, "\n") + "\n", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, Options{Mapping: tc.m, In: strings.NewReader(tc.in), Format: NDJSON, Strict: tc.strict})
			if len(r.errs) != tc.fails {
				t.Errorf("%d record errors, want %d: %v", len(r.errs), tc.fails, r.errs)
			}
			for _, e := range r.errs {
				if strings.Contains(e.Error(), c) || strings.Contains(e.Where, c) {
					t.Errorf("record error leaks data: %q", e)
				}
			}
			if r.err != nil && strings.Contains(r.err.Error(), c) {
				t.Errorf("Run error leaks data: %q", r.err)
			}
		})
	}
}

// A file saved by a Windows tool starts with a UTF-8 byte order mark; it
// must read like any other NDJSON, with the right line numbers.
func TestForwardBOM(t *testing.T) {
	m := parse(t, patientIDs)
	in := "\xef\xbb\xbf" + patient("a") + "\n{bad\n" + patient("b") + "\n"
	var out bytes.Buffer
	var errs []string
	st, err := Run(context.Background(), Options{Mapping: m, In: strings.NewReader(in), Out: &out,
		OnError: func(e *RecordError) { errs = append(errs, e.Where) }})
	if !errors.Is(err, ErrRecordsFailed) || st.Written != 2 || len(errs) != 1 || errs[0] != "line 2" {
		t.Errorf("err %v, stats %+v, errors at %v; want 2 written and line 2 failed", err, st, errs)
	}
}
