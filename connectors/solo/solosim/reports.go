package solosim

// Reports: the CSV data dump and the password-locked encounter report
// (spec "Reports": GET /qapi/v1/reports/csv-data-dump{?from,to}, POST
// /qapi/v1/encounter-report/create, GET .../status/{reportId}, GET
// .../download/{reportId}).
//
// Choices where the spec is silent:
//   - rows are generated, deterministic and synthetic: ReportRowsPerDay
//     (default 24) per day of the range, from and to included, so the size
//     follows the range and an overlapping range repeats the same rows;
//     columns are ReportColumns (the spec names none);
//   - csv-data-dump: from and to are required dates (YYYY-MM-DD), from not
//     after to, at most 366 days apart; otherwise 400 "Bad parameters
//     [from: ...]" (the spec's Bad Request shape);
//   - encounter-report/create: from and to required ATOM date-times,
//     presetId a UUID ("This is not a valid UUID." as the spec's example
//     message), password not blank; the report id is a deterministic UUID;
//     the preset FailingPreset makes the report fail;
//   - status: "pending" for the first ReportPendingPolls polls (default 2),
//     then "completed" (or "failed"); an unknown id answers 404
//     "Report not found";
//   - download: 404 for an unknown id, 409 "Report is not ready" while
//     pending or failed; else a zip holding encounter-report.csv, locked
//     with WinZip AES-256 and the create's password (ReportZipCrypto
//     switches to traditional ZipCrypto).

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/yeka/zip"
)

// FailingPreset is the presetId whose encounter report fails.
const FailingPreset = "00000000-0000-0000-0000-00000000fa11"

// reportState is the reports area's state, guarded by Sim.mu.
type reportState struct {
	perDay  int
	polls   int
	crypto  bool
	reports map[string]*encReport
	next    int
}

type encReport struct {
	from, to time.Time
	password string
	failed   bool
	polls    int
}

func (s *Sim) reports() *reportState {
	return s.area("reports", func() any {
		return &reportState{perDay: 24, polls: 2, reports: map[string]*encReport{}}
	}).(*reportState)
}

// ReportRowsPerDay sets how many rows a report has per day (default 24).
func (s *Sim) ReportRowsPerDay(n int) {
	st := s.reports()
	s.mu.Lock()
	st.perDay = n
	s.mu.Unlock()
}

// ReportPendingPolls sets how many status polls answer "pending" before
// "completed" (default 2).
func (s *Sim) ReportPendingPolls(n int) {
	st := s.reports()
	s.mu.Lock()
	st.polls = n
	s.mu.Unlock()
}

// ReportZipCrypto makes downloads use traditional ZipCrypto instead of
// WinZip AES-256.
func (s *Sim) ReportZipCrypto(on bool) {
	st := s.reports()
	s.mu.Lock()
	st.crypto = on
	s.mu.Unlock()
}

func init() {
	registerArea(func(s *Sim) {
		s.mux.HandleFunc("GET /qapi/v1/reports/csv-data-dump", s.csvDataDump)
		s.mux.HandleFunc("POST /qapi/v1/encounter-report/create", s.createEncounterReport)
		s.mux.HandleFunc("GET /qapi/v1/encounter-report/status/{id}", s.encounterReportStatus)
		s.mux.HandleFunc("GET /qapi/v1/encounter-report/download/{id}", s.downloadEncounterReport)
	})
}

func (s *Sim) csvDataDump(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, ok := dateParam(w, q.Get("from"), "from")
	if !ok {
		return
	}
	to, ok := dateParam(w, q.Get("to"), "to")
	if !ok {
		return
	}
	if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		badParams(w, "from", "The date range must run forwards and span at most 366 days.")
		return
	}
	st := s.reports()
	s.mu.Lock()
	perDay := st.perDay
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/octet-stream")
	_ = WriteReport(w, from, to, perDay)
}

func dateParam(w http.ResponseWriter, v, name string) (time.Time, bool) {
	if v == "" {
		badParams(w, name, "This value should not be blank.")
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		badParams(w, name, "This value is not a valid date.")
		return time.Time{}, false
	}
	return t, true
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (s *Sim) createEncounterReport(w http.ResponseWriter, r *http.Request) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	var times [2]time.Time
	for i, k := range []string{"from", "to"} {
		v, _ := doc[k].(string)
		if v == "" {
			badParams(w, k, "This value should not be blank.")
			return
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			badParams(w, k, "This value is not a valid datetime.")
			return
		}
		times[i] = t
	}
	preset, _ := doc["presetId"].(string)
	if !uuidPattern.MatchString(preset) {
		badParams(w, "presetId", "This is not a valid UUID.")
		return
	}
	password, _ := doc["password"].(string)
	if password == "" {
		badParams(w, "password", "This value should not be blank.")
		return
	}
	if times[1].Before(times[0]) {
		badParams(w, "from", "The date range must run forwards.")
		return
	}
	st := s.reports()
	s.mu.Lock()
	st.next++
	id := fmt.Sprintf("bd43a830-6c0b-4120-b5b8-%012x", st.next)
	st.reports[id] = &encReport{from: times[0], to: times[1], password: password, failed: preset == FailingPreset}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": "pending"})
}

// reportStatus advances and returns the status of report id ("" unknown).
func (s *Sim) reportStatus(id string, poll bool) (*encReport, string) {
	st := s.reports()
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := st.reports[id]
	if rep == nil {
		return nil, ""
	}
	if poll {
		rep.polls++
	}
	switch {
	case rep.polls <= st.polls:
		return rep, "pending"
	case rep.failed:
		return rep, "failed"
	}
	return rep, "completed"
}

func (s *Sim) encounterReportStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, status := s.reportStatus(id, true); status != "" {
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": status})
		return
	}
	writeError(w, http.StatusNotFound, "Report not found")
}

func (s *Sim) downloadEncounterReport(w http.ResponseWriter, r *http.Request) {
	rep, status := s.reportStatus(r.PathValue("id"), false)
	switch status {
	case "":
		writeError(w, http.StatusNotFound, "Report not found")
		return
	case "pending", "failed":
		writeError(w, http.StatusConflict, "Report is not ready")
		return
	}
	st := s.reports()
	s.mu.Lock()
	perDay, crypto := st.perDay, st.crypto
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/octet-stream")
	enc := zip.AES256Encryption
	if crypto {
		enc = zip.StandardEncryption
	}
	_ = WriteReportZip(w, rep.password, enc, func(cw io.Writer) error {
		return WriteReport(cw, rep.from.UTC().Truncate(24*time.Hour), rep.to.UTC().Truncate(24*time.Hour), perDay)
	})
}

// WriteReportZip writes a zip holding encounter-report.csv, locked with
// password by enc, whose content body writes.
func WriteReportZip(w io.Writer, password string, enc zip.EncryptionMethod, body func(io.Writer) error) error {
	zw := zip.NewWriter(w)
	cw, err := zw.Encrypt("encounter-report.csv", password, enc)
	if err != nil {
		return err
	}
	if err := body(cw); err != nil {
		return err
	}
	return zw.Close()
}

// ReportColumns are the columns of the simulator's reports, in order.
var ReportColumns = []string{"appointmentId", "externalId", "date", "duration", "status", "videoCallStatus",
	"waitingRoom", "reasons", "startedAt", "endedAt", "episodeOfCareId", "provider",
	"patientId", "mrn", "firstName", "lastName", "birthDate", "gender"}

// WriteReport writes the report of the days from..to (dates, both
// included) as CSV: the header, then perDay generated rows per day.
func WriteReport(w io.Writer, from, to time.Time, perDay int) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(ReportColumns); err != nil {
		return err
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		for i := 0; i < perDay; i++ {
			if err := cw.Write(ReportRow(d, i)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

var (
	simStatuses = []string{"completed", "completed", "sign off", "scheduled", "cancelled", "not showed up",
		"arrived", "in progress.exam.progress", "completed", "discharge.ready"}
	simCalls   = []string{"complete", "complete", "complete", "", "", "", "waiting", "on call", "LWBS", "finalizing"}
	simGenders = []string{"female", "male", "other", "unknown"}
)

// ReportRow is row i of day as a record of ReportColumns: synthetic,
// deterministic (the same day and i always give the same row; the
// appointment id is unique per day and i).
func ReportRow(day time.Time, i int) []string {
	n := int(day.Unix()/86400)*10000 + i
	start := day.Add(time.Duration(8*3600+i*97%(10*3600)) * time.Second)
	k := n % len(simStatuses)
	cols := make([]string, len(ReportColumns))
	cols[0] = strconv.Itoa(n)
	cols[1] = "appt-" + strconv.Itoa(n)
	cols[2] = start.Format(time.RFC3339)
	cols[3] = "900"
	cols[4] = simStatuses[k]
	cols[5] = simCalls[k]
	cols[6] = "Default Waiting Room Name " + strconv.Itoa(1+n%2)
	cols[7] = "Follow-up;Consultation"
	if simCalls[k] == "complete" {
		cols[8] = start.Add(2 * time.Minute).Format(time.RFC3339)
		cols[9] = start.Add(17 * time.Minute).Format(time.RFC3339)
	}
	if n%3 == 0 {
		cols[10] = fmt.Sprintf("a2c6e3fc-c2f7-4a24-a0d6-%012d", n%1000)
	}
	cols[11] = "Provider " + strconv.Itoa(n%7)
	p := n % 9973
	cols[12] = "pat-" + strconv.Itoa(p)
	cols[13] = "MRN-" + strconv.Itoa(p)
	cols[14] = "Given" + strconv.Itoa(p)
	cols[15] = "Family" + strconv.Itoa(p)
	cols[16] = time.Date(1940+p%70, time.Month(1+p%12), 1+p%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	cols[17] = simGenders[p%4]
	return cols
}
