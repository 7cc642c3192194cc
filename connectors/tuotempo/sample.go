package tuotempo

import (
	"bufio"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/sftptest"
)

// sample is the tuOtempO module's sample for the conformance suite: an
// SFTP server with one login as tuOtempO's side, a daily A.1.1 export to
// it, and an Appointment in that export's window with its Patient and
// clinician (the file's RESOURCE_LID). The
// module takes no routes and gets no vendor ids back (tuOtempO reads the
// file), so the suite runs the export once (export tuotempo) and looks
// for the Appointment's row in the file the server received.
func sample() bridge.Sample {
	return bridge.Sample{
		Simulator: func() (*bridge.SimulatorRun, error) {
			srv, err := sftptest.Start()
			if err != nil {
				return nil, err
			}
			return &bridge.SimulatorRun{
				URL:   (&url.URL{Scheme: "sftp", Host: srv.Addr}).String(),
				Vars:  map[string]string{"$HOST": srv.Host, "$PORT": strconv.Itoa(srv.Port), "$FINGERPRINT": srv.Fingerprint},
				Calls: func() int { return len(regularFiles(srv.Dir)) },
				Holds: func(ref string) bool { return holdsRow(srv.Dir, ref) },
				Stop:  srv.Close,
			}, nil
		},
		Section: `remote: {kind: sftp, host: "$HOST", port: $PORT, user: ` + sftptest.DefaultUser + `, password: {env: SAMPLE_TUOTEMPO_PASSWORD}, host_key_fingerprint: "$FINGERPRINT"}
exports:
  - {name: sample-daily, schedule: "0 6 * * *", timezone: Europe/Madrid}
`,
		Env:       map[string]string{"SAMPLE_TUOTEMPO_PASSWORD": sftptest.DefaultPassword},
		WrongEnv:  map[string]string{"SAMPLE_TUOTEMPO_PASSWORD": "CANARY-WRONG-SFTP-PASSWORD"},
		Refused:   "login refused (user, password or key)",
		CheckName: "sftp",
		Bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"pat-1","name":[{"family":"Sample","given":["Patient"]}],
   "telecom":[{"system":"phone","value":"+34 600 000 000","use":"mobile"}]},"request":{"method":"PUT","url":"Patient/pat-1"}},
 {"resource":{"resourceType":"Practitioner","id":"dr-1","name":[{"family":"Sample","given":["Clinician"]}]},"request":{"method":"PUT","url":"Practitioner/dr-1"}},
 {"resource":{"resourceType":"Appointment","id":"appt-1","status":"booked",
   "start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:15:00Z",
   "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"},{"actor":{"reference":"Practitioner/dr-1"},"status":"accepted"}]},"request":{"method":"PUT","url":"Appointment/appt-1"}}]}`,
		Export:   []string{"export", "tuotempo", "--at", "2026-12-01T06:00"},
		Exported: []string{"Appointment/appt-1"},
	}
}

// regularFiles lists the regular files under dir.
func regularFiles(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// holdsRow reports whether a CSV file under dir has a row whose first
// field (APP_LID) is ref's id.
func holdsRow(dir, ref string) bool {
	_, id, _ := strings.Cut(ref, "/")
	for _, p := range regularFiles(dir) {
		if !strings.HasSuffix(p, ".csv") {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			first, _, _ := strings.Cut(sc.Text(), ",")
			if strings.Trim(first, `"`) == id {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}
