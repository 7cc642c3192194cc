package main

import (
	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// newSandboxCmd is `fhirbridge sandbox`: each module's simulator
// (bridge.ModuleInfo.Sandbox), in name order.
func newSandboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a vendor simulator (for demos and tests)",
	}
	for _, m := range bridge.Modules() {
		if m.Sandbox != nil {
			cmd.AddCommand(m.Sandbox())
		}
	}
	return cmd
}
