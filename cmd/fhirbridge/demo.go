package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

func newDemoCmd() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole flow on the embedded defaults: EHR Bundle → bridge → Solo simulator",
		Long: `demo starts the bridge (SQLite in a temporary folder, loopback only) with the
Solo simulator behind it and two routes (solo/patient, solo/appointment),
posts the synthetic transaction Bundle fixtures/demo/appointments.json as an
interface engine would, waits for the deliveries, and prints what Solo
received and the Solo ids mapped back to the FHIR resources. Nothing to
install; --keep leaves the data folder for a look with
"fhirbridge deliveries list --config <folder>/fhirbridge.yaml".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			dir, err := os.MkdirTemp("", "fhirbridge-demo-*")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			sim := solosim.New(solosim.Options{APIKey: "demo-key", WaitingRooms: []string{"General Practice", "Dermatology", "Telehealth"}})
			simSrv := httptest.NewServer(sim)
			defer simSrv.Close()
			cfgPath := dir + "/fhirbridge.yaml"
			cfgText := fmt.Sprintf(`data_dir: %s
server: {listen: "127.0.0.1:0"}
connectors:
  solo: {base_url: %q, api_key: {env: SOLO_DEMO_API_KEY}}
  tuotempo:
    remote: {kind: local, dir: %s/tuotempo}
    exports:
      - {name: tuotempo-daily, schedule: "0 6 * * *", timezone: Europe/Madrid, format: {delimiter: ";"}}
    cancellations:
      - {name: tuotempo-cancellations, every: 100ms, min_age: 10ms}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`, dir, simSrv.URL, dir)
			if err := os.MkdirAll(filepath.Join(dir, "tuotempo"), 0o750); err != nil {
				return err
			}
			if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
				return err
			}
			os.Setenv("SOLO_DEMO_API_KEY", "demo-key")
			c, err := config.Load(cfgPath, nil)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				return err
			}
			base := "http://" + addr
			fmt.Fprintf(out, "bridge on %s (SQLite in %s), Solo simulator on %s\n\n", base, dir, simSrv.URL)
			bundle, err := fs.ReadFile(fixtures.Demo, "demo/appointments.json")
			if err != nil {
				return err
			}
			resp, err := http.Post(base+"/fhir", "application/fhir+json", strings.NewReader(string(bundle)))
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Fprintf(out, "1. POST /fhir with the demo transaction Bundle (6 entries): HTTP %d %s\n", resp.StatusCode, bundleSummary(string(body)))
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && (len(sim.Patients()) < 1 || len(sim.Appointments()) < 2) {
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Fprintln(out, "\n2. What Solo received (the simulator's request log; bodies are not logged):")
			for _, r := range sim.Requests() {
				fmt.Fprintf(out, "   %s %-45s → %d\n", r.Method, r.Path, r.Status)
			}
			fmt.Fprintln(out, "\n3. Solo ids mapped back:")
			for _, p := range sim.Patients() {
				fmt.Fprintf(out, "   Patient/%s → Solo patient SPID %d\n", p.ID, p.SPID)
			}
			for _, a := range sim.Appointments() {
				fmt.Fprintf(out, "   Appointment/%s → Solo appointment SAID %d (waiting room %q, duration %d s, visit link %s)\n", a.ExternalID, a.SAID, a.WaitingRoom, a.Duration, a.VisitURL)
			}
			if len(sim.Patients()) < 1 || len(sim.Appointments()) < 2 {
				return fmt.Errorf("deliveries incomplete after 30 s: %d patients and %d appointments at Solo", len(sim.Patients()), len(sim.Appointments()))
			}
			if err := demoTuotempo(ctx, out, c, dir, sim); err != nil {
				return err
			}
			cancel()
			if err := <-done; err != nil {
				return err
			}
			fmt.Fprintln(out, "\nAll delivered. Next: fhirbridge serve --help, and the configuration reference in the README.")
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's data folder")
	return cmd
}

// bundleSummary lists the entry statuses of a transaction-response.
func bundleSummary(body string) string {
	n := strings.Count(body, `"status":"201`)
	m := strings.Count(body, `"status":"200`)
	return fmt.Sprintf("(transaction-response: %d created, %d updated)", n, m)
}
