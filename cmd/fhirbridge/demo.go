package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/demo"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

func newDemoCmd() *cobra.Command {
	var keep bool
	var parts strings.Builder
	for _, m := range bridge.Modules() {
		if m.Demo != nil {
			parts.WriteString(demo.Wrap("  "+m.Name+": "+m.Demo().Summary+".", 76, "    "))
		}
	}
	cmd := &cobra.Command{
		Use:   "demo [--keep]",
		Short: "Run the whole flow on the embedded defaults: an EHR Bundle out to simulated vendors, their files back",
		Long: `demo starts the bridge (SQLite in a temporary folder, loopback only) with
every demo module's stand-in for its vendor behind it, posts the synthetic
transaction Bundle fixtures/demo/appointments.json as an interface engine
would, waits for the deliveries, and then runs and prints each module's
steps, numbered; it ends with "All delivered." The modules' parts:

` + parts.String() + `
Nothing to install. --keep leaves the data folder and says where: its
fhirbridge.yaml works as it is (secrets are files in the folder), e.g.
"fhirbridge deliveries list --config <folder>/fhirbridge.yaml".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "fhirbridge-demo-*")
			if err != nil {
				return fmt.Errorf("making the demo's data folder: %w", err)
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			out := cmd.OutOrStdout()
			inputs, err := fs.Sub(fixtures.Demo, "demo")
			if err != nil {
				return err
			}
			if err := demo.Run(cmd.Context(), out, dir, inputs, "fixtures/demo"); err != nil {
				return err
			}
			if keep {
				cfg := filepath.Join(dir, "fhirbridge.yaml")
				fmt.Fprintf(out, "\nKept the data folder %s. Its configuration works as it is (the simulators have stopped); for instance:\n  fhirbridge deliveries list --config %s\n", dir, cfg)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's data folder (printed at the end) for a look with --config <folder>/fhirbridge.yaml")
	return cmd
}
