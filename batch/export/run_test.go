package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// appointment returns a minimal Appointment with a Practitioner.
func appointment(id string, start time.Time) *fhir.Value {
	return decode(fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"booked","start":%q,
		"participant":[{"actor":{"reference":"Practitioner/p1"},"status":"accepted"}]}`, id, start.UTC().Format(time.RFC3339Nano)))
}

// ids returns the first column of the data rows of a CSV.
func ids(t *testing.T, data []byte, delim rune) []string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = delim
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("reading CSV: %v", err)
	}
	var out []string
	for _, rec := range recs[1:] {
		out = append(out, rec[0])
	}
	return out
}

// TestWindow checks which appointment starts an export selects, at both
// edges of the default and of a configured window.
func TestWindow(t *testing.T) {
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, madrid)
	cases := []struct {
		name   string
		window Window
		starts map[string]time.Duration // id → start relative to at
		want   string
	}{
		{"default 24h past to 72h ahead", Window{}, map[string]time.Duration{
			"a-before":    -24*time.Hour - time.Nanosecond,
			"b-first":     -24 * time.Hour,
			"c-now":       0,
			"d-last":      72*time.Hour - time.Millisecond,
			"e-after":     72 * time.Hour,
			"f-next-year": 365 * 24 * time.Hour,
		}, "b-first,c-now,d-last"},
		{"configured 1h past to 2h ahead", Window{Before: time.Hour, After: 2 * time.Hour}, map[string]time.Duration{
			"a-before": -time.Hour - time.Second,
			"b-first":  -time.Hour,
			"c-last":   2*time.Hour - time.Second,
			"d-after":  2 * time.Hour,
		}, "b-first,c-last"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			for id, d := range tc.starts {
				putResources(t, st, appointment(id, at.Add(d)))
			}
			putResources(t, st, mustJSON(t, `{"resourceType":"Appointment","id":"z-no-start","status":"proposed","participant":[]}`),
				mustJSON(t, `{"resourceType":"Practitioner","id":"p1","name":[{"text":"Dr One"}]}`))
			spec := mustSpec(t, "w", "tuotempo/export", nil)
			spec.Window = tc.window
			res, err := Run(context.Background(), st, nil, spec, at, RunOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(t, res.CSV, ','), ","); got != tc.want {
				t.Errorf("exported %s, want %s", got, tc.want)
			}
			if res.RefusedCount != 0 || res.Skipped != len(tc.starts)+1-res.Rows {
				t.Errorf("skipped %d, refused %d; want %d skipped", res.Skipped, res.RefusedCount, len(tc.starts)+1-res.Rows)
			}
		})
	}
}

// TestEmptyRunAndManifest uploads an export with no row and one with
// rows and checks files, manifest and ledger.
func TestEmptyRunAndManifest(t *testing.T) {
	cases := []struct {
		name        string
		fixture     bool
		wantRows    int
		wantRefused int
		wantOutcome string
	}{
		{"empty store: header and manifest", false, 0, 0, ledger.OutcomeOK},
		{"fixture: rows and one refusal", true, 6, 1, ledger.OutcomePartial}, // appt-09-cancelled is not exported
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			if tc.fixture {
				loadFixture(t, st)
			}
			spec := mustSpec(t, "tuotempo-export", "tuotempo/export", map[string]string{"timezone": "Europe/Madrid"})
			remote := newFakeRemote()
			clock := &fakeClock{now: exportAt.Add(time.Minute)}
			res, err := Run(context.Background(), st, remote, spec, exportAt, RunOptions{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			file, manifest := "appointments_20261201T0600.csv", "appointments_20261201T0600.csv.manifest.json"
			if got := strings.Join(remote.puts, " "); got != file+" "+manifest {
				t.Fatalf("uploads %q, want the file then its manifest", got)
			}
			data := remote.files[file]
			if !bytes.HasPrefix(data, []byte("APP_LID,APP_DATE,")) {
				t.Errorf("file does not start with the header: %q", data)
			}
			if lines := bytes.Count(data, []byte("\n")); lines != 1+tc.wantRows {
				t.Errorf("%d lines, want %d", lines, 1+tc.wantRows)
			}
			var m Manifest
			if err := json.Unmarshal(remote.files[manifest], &m); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			want := Manifest{File: file, Rows: tc.wantRows, Refused: tc.wantRefused, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
				WindowStart: "2026-11-30T06:00:00+01:00", WindowEnd: "2026-12-04T06:00:00+01:00",
				Mapping: "tuotempo/export", MappingVersion: 2, Job: "tuotempo-export",
				ExportTime: "2026-12-01T06:00:00+01:00", GeneratedAt: "2026-12-01T06:01:00+01:00"}
			got := Manifest{File: m.File, Rows: m.Rows, Refused: m.Refused, Size: m.Size, SHA256: m.SHA256, WindowStart: m.WindowStart,
				WindowEnd: m.WindowEnd, Mapping: m.Mapping, MappingVersion: m.MappingVersion, Job: m.Job, ExportTime: m.ExportTime, GeneratedAt: m.GeneratedAt}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("manifest\n got %+v\nwant %+v", got, want)
			}
			es := ledgerEntries(t, st)
			if len(es) != 1 {
				t.Fatalf("%d ledger entries, want 1", len(es))
			}
			e := es[0]
			if e.Path != file || e.Size != int64(len(data)) || e.SHA256 != m.SHA256 || e.RowsOK != tc.wantRows ||
				e.RowsFailed != tc.wantRefused || e.Outcome != tc.wantOutcome || res.LedgerID != e.ID {
				t.Errorf("ledger entry %+v", e)
			}
			if tc.wantRefused > 0 && !strings.Contains(e.Detail, "appt-08-no-practitioner") {
				t.Errorf("ledger detail %q does not name the refused appointment", e.Detail)
			}
		})
	}
}

// TestDryRun builds the file but uploads and records nothing.
func TestDryRun(t *testing.T) {
	st := openStore(t)
	loadFixture(t, st)
	spec := mustSpec(t, "tuotempo-export", "tuotempo/export", map[string]string{"timezone": "Europe/Madrid"})
	remote := newFakeRemote()
	var out bytes.Buffer
	res, err := Run(context.Background(), st, remote, spec, exportAt, RunOptions{DryRun: true, Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	if remote.tries != 0 || len(remote.files) != 0 {
		t.Errorf("dry run touched the remote: %d Puts", remote.tries)
	}
	if es := ledgerEntries(t, st); len(es) != 0 {
		t.Errorf("dry run recorded %d ledger entries", len(es))
	}
	sum := sha256.Sum256(out.Bytes())
	if res.Rows != 6 || res.SHA256 != hex.EncodeToString(sum[:]) || res.Size != int64(out.Len()) || len(res.ManifestJSON) == 0 {
		t.Errorf("result rows %d sha %s size %d; output %d bytes", res.Rows, res.SHA256, res.Size, out.Len())
	}
	if res.CSV != nil {
		t.Error("CSV kept in memory although Output was given")
	}
}

// TestFormats checks the CSV dialect options.
func TestFormats(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		want   []string // substrings of the file
		not    []string
	}{
		{"utf-8 default", Format{}, []string{"Andrés Pruebas", "\nappt-01-normal,"}, []string{"\r\n"}},
		{"windows-1252", Format{Encoding: "windows-1252"}, []string{"Andr\xe9s Pruebas"}, []string{"Andrés"}},
		{"semicolon and CRLF", Format{Delimiter: ';', CRLF: true}, []string{"APP_LID;APP_DATE;", "\r\nappt-01-normal;01/12/2026;09:30;"}, []string{"appt-01-normal,"}},
		{"quote all", Format{QuoteAll: true}, []string{`"APP_LID","APP_DATE"`, `"appt-01-normal","01/12/2026"`}, nil},
	}
	st := openStore(t)
	loadFixture(t, st)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustSpec(t, "f", "tuotempo/export", map[string]string{"timezone": "Europe/Madrid"})
			spec.Format = tc.format
			res, err := Run(context.Background(), st, nil, spec, exportAt, RunOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(res.CSV, []byte(w)) {
					t.Errorf("file lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if bytes.Contains(res.CSV, []byte(n)) {
					t.Errorf("file has %q", n)
				}
			}
			if res.Rows != 6 {
				t.Errorf("%d rows, want 6", res.Rows)
			}
		})
	}
}

// TestRefusedRowsReported: rows the mapping or the encoding refuses are
// reported by id and the others are exported.
func TestRefusedRowsReported(t *testing.T) {
	st := openStore(t)
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	putResources(t, st,
		mustJSON(t, `{"resourceType":"Practitioner","id":"p1","name":[{"text":"Dr One"}]}`),
		mustJSON(t, `{"resourceType":"Practitioner","id":"p2","name":[{"text":"Dr 李"}]}`),
		appointment("a1", at),
		mustJSON(t, `{"resourceType":"Appointment","id":"a2","status":"booked","start":"2026-12-01T07:00:00Z","participant":[]}`),
		mustJSON(t, `{"resourceType":"Appointment","id":"a3","status":"booked","start":"2026-12-01T08:00:00Z","participant":[{"actor":{"reference":"Practitioner/p2"},"status":"accepted"}]}`),
		appointment("a4", at.Add(time.Hour)),
	)
	spec := mustSpec(t, "r", "tuotempo/export", nil)
	spec.Format.Encoding = "windows-1252"
	remote := newFakeRemote()
	res, err := Run(context.Background(), st, remote, spec, at, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(t, remote.files[res.File], ','), ","); got != "a1,a4" {
		t.Errorf("exported %s, want a1,a4", got)
	}
	want := map[string]string{"a2": "RESOURCE_LID", "a3": "not representable"}
	if res.RefusedCount != 2 || len(res.Refused) != 2 {
		t.Fatalf("refused %+v", res.Refused)
	}
	for _, r := range res.Refused {
		if !strings.Contains(r.Reason, want[r.ID]) {
			t.Errorf("refusal of %s: %q, want it to mention %q", r.ID, r.Reason, want[r.ID])
		}
		if strings.Contains(r.Reason, "李") {
			t.Errorf("refusal of %s carries a value: %q", r.ID, r.Reason)
		}
	}
}

// decode parses JSON test data, panicking on a typo.
func decode(s string) *fhir.Value {
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	return v
}
