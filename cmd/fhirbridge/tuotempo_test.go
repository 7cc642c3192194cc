package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTuotempoFileLoop runs the tuOtempO loop end to end on a local
// folder: the demo Bundle is posted to serve and delivered to Solo;
// `export tuotempo` writes the export and its manifest; a cancellation file
// dropped in the folder is taken by serve's poller, cancels the stored
// Appointment (which flows on to Solo as a cancellation), and the file moves
// to error/ with its report because one row names an unknown appointment;
// `files list` shows both files.
func TestTuotempoFileLoop(t *testing.T) {
	mb := newMailbox(t)
	mhost, mport, _ := strings.Cut(mb.addr, ":")
	drop := t.TempDir()
	b := startBridge(t, `connectors:
  $SOLO
  tuotempo:
    remote: {kind: local, dir: `+drop+`}
    exports:
      - {name: daily, schedule: "0 6 * * *", timezone: Europe/Madrid, format: {delimiter: ";", crlf: true}}
    cancellations:
      - {name: cancels, every: 50ms, min_age: 10ms}
    notify_to: [integration@hospital.example]
mail: {host: `+mhost+`, port: `+mport+`, tls: none, from: fhirbridge@hospital.example}
`+soloRoutes)
	sim, cfg, logText := b.Sim, b.Config, b.Log
	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	post(t, b.Base+"/fhir", bundle, 200)
	b.Wait("both appointments at Solo", func() bool { return len(sim.Appointments()) == 2 })

	// the export, one-shot, at 06:00 Madrid on 1 December: appt-demo-1
	// (08:30Z that day) is in the window, appt-demo-2 (in March) is not
	out, errOut, code := run(t, "", "export", "tuotempo", "--config", cfg, "--at", "2026-12-01T06:00")
	if code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	csv, err := os.ReadFile(filepath.Join(drop, "appointments_20261201T0600.csv"))
	if err != nil {
		t.Fatalf("export file: %v (stdout %s)", err, out)
	}
	lines := strings.Split(strings.TrimRight(string(csv), "\r\n"), "\r\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "APP_LID;") || !strings.HasPrefix(lines[1], "appt-demo-1;") {
		t.Errorf("export: want a header and appt-demo-1 only, ';' and CRLF:\n%q", csv)
	}
	if _, err := os.Stat(filepath.Join(drop, "appointments_20261201T0600.csv.manifest.json")); err != nil {
		t.Errorf("manifest: %v", err)
	}

	// the cancellation file comes back
	cancelCSV := "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS\r\n" +
		"appt-demo-1;;+34600000001;;prac-demo-1;CANCELLED by USER\r\n" +
		"appt-nobody;;;;prac-demo-1;CANCELLED by ADMIN\r\n"
	if err := os.WriteFile(filepath.Join(drop, "cancellations_20261201.csv"), []byte(cancelCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the file moved to error/ with its report", func() bool {
		_, e1 := os.Stat(filepath.Join(drop, "error", "cancellations_20261201.csv"))
		_, e2 := os.Stat(filepath.Join(drop, "error", "cancellations_20261201.csv.report.txt"))
		return e1 == nil && e2 == nil
	}, logText)
	waitFor(t, "the cancellation at Solo", func() bool {
		for _, a := range sim.Appointments() {
			if a.ExternalID == "appt-demo-1" && a.Status == "cancelled" {
				return true
			}
		}
		return false
	}, logText)
	stored, _, code := run(t, "", "files", "list", "--config", cfg)
	if code != 0 || !strings.Contains(stored, "appointments_20261201T0600.csv") || !strings.Contains(stored, "cancellations_20261201.csv") || !strings.Contains(stored, "partial") {
		t.Errorf("files list:\n%s", stored)
	}
	// one digest per file: the cancellation notice and the error-file
	// notice, with ids and line numbers, never the phone of the row
	waitFor(t, "the mail notices", func() bool { return len(mb.messages()) >= 2 }, logText)
	time.Sleep(300 * time.Millisecond) // later polls must not mail again
	msgs := mb.messages()
	if len(msgs) != 2 {
		t.Errorf("%d mails for one file, want 2 (the cancellations digest and the error-file notice)", len(msgs))
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "appt-demo-1") || strings.Contains(all, "+34600000001") || strings.Contains(all, "600000001") {
		t.Errorf("mail must list appt-demo-1 and no phone:\n%s", all)
	}
	// re-running the file on purpose applies nothing new (the appointment
	// is cancelled already) and reports the same refused line
	re, reErr, code := run(t, "", "files", "reprocess", "cancellations_20261201.csv", "--config", cfg)
	if !strings.Contains(re, "1 rows applied, 1 refused, 0 appointments updated") || !strings.Contains(re, "line 3:") {
		t.Errorf("files reprocess: exit %d\n%s\n%s", code, re, reErr)
	}
	report, _ := os.ReadFile(filepath.Join(drop, "error", "cancellations_20261201.csv.report.txt"))
	if !strings.Contains(string(report), "line 3") || strings.Contains(string(report), "+34600000001") {
		t.Errorf("report must name line 3 and no phone:\n%s", report)
	}
	b.Stop()
	b.NoCanary("+34600000001", "600000001")
}

// waitFor polls cond for up to 20 s; on time-out it fails with what and
// the log so far.
func waitFor(t *testing.T, what string, cond func() bool, log func() string) {
	t.Helper()
	// generous: these tests assert that work completes, not how fast, and
	// CI shares two cores with fuzzing and PostgreSQL (the tuOtempO
	// write-back once took longer than 20 s there)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; log:\n%s", what, log())
}
