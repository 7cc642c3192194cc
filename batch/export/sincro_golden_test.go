package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestGoldenSincroViews exports testdata/sincro.json (services, plans,
// roles, schedules and slots around the export time) with every shipped
// Sincro view mapping and compares file and manifest with
// testdata/golden (go test -update rewrites them). It checks the
// selection (future slots only, inactive resources skipped), the refusals
// and the cell limits, and writes one view as the tab-delimited TXT of
// B.2.1.3.
func TestGoldenSincroViews(t *testing.T) {
	cases := []struct {
		name, mapping string
		params        map[string]string
		pattern       string
		format        Format
		wantRows      int
		wantSkipped   int
		wantRefused   []string
	}{
		// act-old is inactive
		{name: "activities", mapping: "tuotempo/activities", pattern: "TT_ACTIVITIES_{date}.csv", wantRows: 4, wantSkipped: 1},
		// ins-old is retired
		{name: "insurances", mapping: "tuotempo/insurances", pattern: "TT_INSURANCES_{date}.csv", wantRows: 3, wantSkipped: 1},
		// role-3 inactive, role-4's practitioner inactive, role-5's service has no reference
		{name: "resources-activities", mapping: "tuotempo/resources-activities", pattern: "TT_RESOURCES_ACTIVITIES_{date}.txt",
			format: Format{Delimiter: '\t', CRLF: true}, wantRows: 3, wantSkipped: 2, wantRefused: []string{"role-5"}},
		// ins-2 and ins-old cover nothing; act-old is inactive; ins-bad names no activity
		{name: "insurances-activities", mapping: "tuotempo/insurances-activities", pattern: "TT_INSURANCES_ACTIVITIES_{date}.csv",
			wantRows: 2, wantSkipped: 2, wantRefused: []string{"ins-bad"}},
		// ins-old is retired; roles 3–5 take no insurance
		{name: "insurances-resources", mapping: "tuotempo/insurances-resources", pattern: "TT_INSURANCES_RESOURCES_{date}.csv",
			wantRows: 3, wantSkipped: 3},
		// slot-past and slot-far are outside [export time, +72h); slot-busy
		// and slot-off give no row; slot-orphan has no practitioner
		{name: "availabilities", mapping: "tuotempo/availabilities", params: map[string]string{"timezone": "Europe/Madrid"},
			pattern: "TT_AVAILABILITIES_{date}.csv", wantRows: 2, wantSkipped: 4, wantRefused: []string{"slot-orphan"}},
		// slot-2's schedule names no service: its practitioner's active roles'
		{name: "activities-availabilities", mapping: "tuotempo/activities-availabilities", pattern: "TT_ACTIVITIES_AVAILABILITIES_{date}.csv",
			wantRows: 2, wantSkipped: 5},
	}
	st := openStore(t)
	b, err := os.ReadFile("testdata/sincro.json")
	if err != nil {
		t.Fatal(err)
	}
	var res []*fhir.Value
	for _, e := range mustJSON(t, string(b)).Get("entry").Items {
		res = append(res, e.Get("resource"))
	}
	putResources(t, st, res...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustSpec(t, "tuotempo-"+tc.name, tc.mapping, tc.params)
			spec.NamePattern = tc.pattern
			spec.Format = tc.format
			spec.Location = madrid
			clock := &fakeClock{now: exportAt.Add(2 * time.Minute)}
			r, err := Run(context.Background(), st, nil, spec, exportAt, RunOptions{DryRun: true, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			var refused []string
			for _, x := range r.Refused {
				refused = append(refused, x.ID)
			}
			if strings.Join(refused, ",") != strings.Join(tc.wantRefused, ",") {
				t.Errorf("refused %v, want %v", refused, tc.wantRefused)
			}
			if r.Rows != tc.wantRows || r.Skipped != tc.wantSkipped {
				t.Errorf("rows %d skipped %d, want %d and %d", r.Rows, r.Skipped, tc.wantRows, tc.wantSkipped)
			}
			ext := ".csv"
			if tc.format.Delimiter == '\t' {
				ext = ".txt"
			}
			golden(t, tc.name+ext, r.CSV)
			golden(t, tc.name+".manifest.json", r.ManifestJSON)
			data := r.CSV
			if tc.format.Delimiter != 0 {
				data = toComma(t, data, tc.format.Delimiter)
			}
			if over := checkCells(t, data); len(over) > 0 {
				t.Errorf("cells over the spec's limits: %v", over)
			}
		})
	}
}

// toComma rewrites a file with another delimiter as comma-separated CSV,
// so checkCells can read it.
func toComma(t *testing.T, data []byte, delim rune) []byte {
	t.Helper()
	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comma = delim
	recs, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("reading %q-delimited file: %v", delim, err)
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
