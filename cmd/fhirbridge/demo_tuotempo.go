package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

// demoTuotempo is the demo's second half: the tuOtempO export of the
// stored appointments to a local folder, then the cancellation file
// fixtures/demo/cancellations.csv dropped there and taken by serve's poller.
func demoTuotempo(ctx context.Context, out io.Writer, c *config.Config, dir string, sim *solosim.Sim) error {
	drop := filepath.Join(dir, "tuotempo")
	st, err := store.Open(ctx, c.Database.URL.Reveal())
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	m, err := tuotempoModule(c)
	if err != nil {
		return err
	}
	jobs, err := m.ExportJobs()
	if err != nil {
		return err
	}
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, jobs[0].Location())
	var summary bytes.Buffer
	if err := m.RunExport(ctx, &summary, st, jobs[0], at, false); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n4. tuOtempO export at %s (Europe/Madrid), window 24 h back to 72 h ahead, into %s:\n   %s", at.Format("2006-01-02 15:04"), drop, summary.String())
	name := "appointments_" + at.Format("20060102T1504") + ".csv"
	csv, err := os.ReadFile(filepath.Join(drop, name))
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimRight(string(csv), "\n"), "\n") {
		fmt.Fprintf(out, "   | %s\n", l)
	}

	cancels, err := fs.ReadFile(fixtures.Demo, "demo/cancellations.csv")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(drop, "cancellations_demo.csv"), cancels, 0o600); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n5. tuOtempO's cancellation file dropped in the folder (fixtures/demo/cancellations.csv); serve's poller takes it once stable:")
	report := filepath.Join(drop, "error", "cancellations_demo.csv.report.txt")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(report); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep, err := os.ReadFile(report)
	if err != nil {
		return fmt.Errorf("the cancellation file was not processed within 30 s: %w", err)
	}
	for _, l := range strings.Split(strings.TrimRight(string(rep), "\n"), "\n") {
		fmt.Fprintf(out, "   | %s\n", l)
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !cancelledAtSolo(sim, "appt-demo-1") {
		time.Sleep(100 * time.Millisecond)
	}
	if !cancelledAtSolo(sim, "appt-demo-1") {
		return fmt.Errorf("the cancellation of appt-demo-1 did not reach Solo within 30 s")
	}
	fmt.Fprintln(out, "\n6. The cancellation flowed on to Solo: Appointment/appt-demo-1 is now \"cancelled\" there (PUT /qapi/v1/appointments/{id}).")
	return nil
}

// cancelledAtSolo reports whether the simulator holds the appointment with
// externalId id as cancelled.
func cancelledAtSolo(sim *solosim.Sim, id string) bool {
	for _, a := range sim.Appointments() {
		if a.ExternalID == id && a.Status == "cancelled" {
			return true
		}
	}
	return false
}
