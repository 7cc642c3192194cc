package solomod

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// NewSandboxSim returns the simulator `fhirbridge sandbox solo` runs:
// apiKey, the default waiting rooms (solosim.DefaultWaitingRooms), and the
// sample visit note (solosim.SampleVisitNote) on every appointment.
func NewSandboxSim(apiKey string) *solosim.Sim {
	sim := solosim.New(solosim.Options{APIKey: apiKey})
	sim.SetDefaultVisitNote(solosim.SampleVisitNote())
	return sim
}

// sandboxCmd is `fhirbridge sandbox solo`: the Solo simulator.
func sandboxCmd() *cobra.Command {
	var listen, apiKey string
	cmd := &cobra.Command{
		Use:   "solo [--listen ADDR] [--api-key KEY]",
		Short: "Run the Teladoc Health Solo simulator",
		Long: `solo runs a simulator of the Solo REST API (patients, appointments, waiting
rooms) that enforces the spec's documented rules: the Api-Key header, deceasedAt
exactly when deceased, "active" a boolean (false deactivates the patient),
appointment duration within [1, 86400], a known waiting room, 404 for unknown
ids. Every appointment has the spec's sample visit note ("Acute Neurology -
Physician Services"), unanswered until a PUT answers it. Its waiting rooms are those of the README's Solo walk-through (the shipped
solo/waiting-rooms.csv and Telehealth) and the spec's two examples. Point
connectors.solo.base_url at the address it prints. It keeps no data between
runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sim := NewSandboxSim(apiKey)
			url, err := sim.Start(listen)
			if err != nil {
				return err
			}
			defer sim.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "Solo simulator on %s (Api-Key %q; waiting rooms %s); Ctrl-C stops it\n", url, apiKey, strings.Join(solosim.DefaultWaitingRooms(), ", "))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8090", "address to listen on")
	cmd.Flags().StringVar(&apiKey, "api-key", "test-key", "the Api-Key the simulator accepts")
	return cmd
}
