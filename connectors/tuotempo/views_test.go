package tuotempo

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestSincroViewExportJobs: every shipped Sincro view mapping works as a
// connectors.tuotempo.exports[] job — the section decodes and validates,
// the job compiles (mapping, params, schedule, file pattern, format, with
// the tab delimiter of the B.2.1.3 TXT), and a run writes the view's
// header and rows with the job's delimiter.
func TestSincroViewExportJobs(t *testing.T) {
	cfg := decode(t, `remote: {kind: local, dir: out}
exports:
  - {name: tt-activities, schedule: "0 3 * * *", mapping: tuotempo/activities, params: {web_enabled: "1"}, file: "TT_ACTIVITIES_{time}.csv"}
  - {name: tt-insurances, schedule: "0 3 * * *", mapping: tuotempo/insurances, file: "TT_INSURANCES_{time}.csv"}
  - {name: tt-resources-activities, schedule: "0 3 * * *", mapping: tuotempo/resources-activities, file: "TT_RESOURCES_ACTIVITIES_{time}.txt", format: {delimiter: "\t", crlf: true}}
  - {name: tt-insurances-activities, schedule: "0 3 * * *", mapping: tuotempo/insurances-activities, file: "TT_INSURANCES_ACTIVITIES_{time}.csv", format: {delimiter: ";"}}
  - {name: tt-insurances-resources, schedule: "0 3 * * *", mapping: tuotempo/insurances-resources, file: "TT_INSURANCES_RESOURCES_{time}.csv"}
  - {name: tt-availabilities, schedule: "*/15 * * * *", timezone: Atlantic/Canary, mapping: tuotempo/availabilities, file: "TT_AVAILABILITIES_{time}.csv", window: {after: 336h}}
  - {name: tt-activities-availabilities, schedule: "*/15 * * * *", mapping: tuotempo/activities-availabilities, file: "TT_ACTIVITIES_AVAILABILITIES_{time}.csv", window: {after: 336h}}
  - {name: tt-reservations, schedule: "*/15 * * * *", mapping: tuotempo/reservations, params: {activity: "true"}, file: "TT_RESERVATIONS_{time}.csv"}
  - {name: key-entities, schedule: "0 4 * * *", mapping: tuotempo/key-entities, file: "KEY_ENTITIES_{time}.txt", format: {delimiter: "\t"}}
`)
	dir := t.TempDir()
	if _, err := New(cfg, testRoot{dir: dir}); err != nil {
		t.Fatal(err)
	}
	jobs, err := exportJobs(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	var resources []string
	for _, r := range []string{
		`{"resourceType":"Practitioner","id":"prac-1","name":[{"given":["Ana"],"family":"=Demo"}]}`,
		`{"resourceType":"HealthcareService","id":"act-1","name":"Revisión"}`,
		`{"resourceType":"InsurancePlan","id":"ins-1","name":"Privado","extension":[{"url":"urn:fhirbridge:tuotempo:activity","extension":[{"url":"activity","valueReference":{"reference":"HealthcareService/act-1"}}]}]}`,
		`{"resourceType":"PractitionerRole","id":"role-1","practitioner":{"reference":"Practitioner/prac-1"},"healthcareService":[{"reference":"HealthcareService/act-1"}],"extension":[{"url":"urn:fhirbridge:tuotempo:insurance","valueReference":{"reference":"InsurancePlan/ins-1"}}]}`,
		`{"resourceType":"Schedule","id":"sch-1","actor":[{"reference":"Practitioner/prac-1"}]}`,
		`{"resourceType":"Slot","id":"slot-1","schedule":{"reference":"Schedule/sch-1"},"status":"free","start":"2026-12-05T08:00:00Z","end":"2026-12-05T08:20:00Z"}`,
		`{"resourceType":"Appointment","id":"appt-1","status":"booked","start":"2026-12-01T08:00:00Z","participant":[{"actor":{"reference":"Practitioner/prac-1"}},{"actor":{"reference":"HealthcareService/act-1"}}]}`,
	} {
		resources = append(resources, r)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range resources {
			v, err := fhir.DecodeString(r, fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			if _, _, err := tx.PutResource(ctx, v.ResourceType(), v.GetString("id"), v.JSON()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		delim string
		rows  int
		last  string // the first row
	}{
		"tt-activities":                {",", 1, "act-1,Revisión,,,,,1"},
		"tt-insurances":                {",", 1, "ins-1,Privado,1"},
		"tt-resources-activities":      {"\t", 1, "prac-1\tact-1\t\t\r"},
		"tt-insurances-activities":     {";", 1, "ins-1;act-1;"},
		"tt-insurances-resources":      {",", 1, "ins-1,prac-1"},
		"tt-availabilities":            {",", 1, "slot-1,6,08:00,08:20,05/12/2026,05/12/2026,prac-1"},
		"tt-activities-availabilities": {",", 1, "act-1,slot-1"},
		"key-entities":                 {"\t", 1, "ins-1\tPrivado\t\t\tact-1\tRevisión\t\t\t\t\tprac-1\tAna\t'=Demo"}, // B.2.1.3 TXT; formulas escaped by the export
		"tt-reservations":              {",", 1, "appt-1,01/12/2026,,09:00,,,,,,,,,,,,,,,,,,,prac-1,act-1,,,APPROVED,,,"},
	}
	if len(jobs) != len(want) {
		t.Fatalf("%d jobs, want %d", len(jobs), len(want))
	}
	for _, j := range jobs {
		t.Run(j.spec.Name, func(t *testing.T) {
			w := want[j.spec.Name]
			res, err := export.Run(ctx, st, nil, j.spec, at, export.RunOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != w.rows || res.RefusedCount != 0 {
				t.Errorf("rows %d refused %d, want %d and 0 (%v)", res.Rows, res.RefusedCount, w.rows, res.Refused)
			}
			lines := strings.Split(string(res.CSV), "\n")
			if got, header := lines[0], strings.Join(j.spec.Mapping.Columns(), w.delim); strings.TrimSuffix(got, "\r") != header {
				t.Errorf("header %q, want %q", got, header)
			}
			if len(lines) < 2 || lines[1] != w.last {
				t.Errorf("first row %q, want %q", lines[1], w.last)
			}
			if !bytes.HasSuffix(res.CSV, []byte("\n")) {
				t.Error("file does not end with a line end")
			}
		})
	}
}

// TestTmpFolders: the temporary table folders decode strictly, take their
// defaults, refuse a name another job has, and give one poller each.
func TestTmpFolders(t *testing.T) {
	t.Setenv("TT_TEST_TOKEN", "center-token")
	cfg := decode(t, `remote: {kind: local, dir: out}
cancellations: [{name: cancels}]
reservations_tmp: [{name: tt-tmp, dir: in, center: C1}]
delete_reservations: [{name: tt-delete, dir: in, pattern: "DEL_*.csv", every: 30s, min_age: 10s}]
online: {centers: [{lid: C1, name: Centre, token: {env: TT_TEST_TOKEN}}]}
`)
	if _, err := New(cfg, testRoot{dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "the ehr section is required") {
		t.Fatalf("New without the ehr section = %v, want it required", err)
	}
	if _, err := New(cfg, testRoot{dir: t.TempDir(), ehr: &ehr.Endpoint{BaseURL: "https://ehr.example/fhir"}}); err != nil {
		t.Fatal(err)
	}
	noOnline := decode(t, "remote: {kind: local, dir: out}\nreservations_tmp: [{name: tt-tmp, dir: in}]\n")
	if _, err := New(noOnline, testRoot{dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "online section") {
		t.Fatalf("temporary table folders without online = %v, want refused", err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := cfg.TmpPollers(st, nopBooker{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Job().Pattern != "TT_RESERVATIONS_TMP_*.csv" || ps[0].Job().Center != "C1" ||
		ps[1].Job().Pattern != "DEL_*.csv" || ps[1].Job().Every != connectors.Duration(30*time.Second) {
		t.Errorf("pollers %+v", ps)
	}
	bad := decode(t, "remote: {kind: local, dir: out}\ncancellations: [{name: c}]\ndelete_reservations: [{name: c}]\nreservations_tmp: [{dir: x}]\n")
	_, err = New(bad, testRoot{dir: t.TempDir()})
	for _, want := range []string{`connectors.tuotempo.delete_reservations[0]: duplicate job name "c"`, "connectors.tuotempo.reservations_tmp[0]: name is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// nopBooker is a ws.Booker that is never called.
type nopBooker struct{}

func (nopBooker) Add(context.Context, string, map[string]string) (ws.Record, error) { return nil, nil }
func (nopBooker) Move(context.Context, string, string, map[string]string) (ws.Record, error) {
	return nil, nil
}
func (nopBooker) Cancel(context.Context, string, string, bool) (ws.Record, error) { return nil, nil }
