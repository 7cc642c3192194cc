package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// importCommands are the subcommands of `fhirbridge import`, each
// registered from its own file's init.
var importCommands []func() *cobra.Command

func init() { bridge.LoadCommandConfig = loadCommandConfig }

// loadCommandConfig is bridge.LoadCommandConfig: the configuration as
// every command loads it, for the subcommands of module name.
func loadCommandConfig(name, path string) (*bridge.CommandConfig, error) {
	if path == "" {
		path = os.Getenv("FHIRBRIDGE_CONFIG")
	}
	c, err := config.Load(path, os.Environ())
	if err != nil {
		return nil, err
	}
	return &bridge.CommandConfig{App: c, Section: c.ConnectorSection(name), DataDir: c.DataDir,
		OpenStore: func(ctx context.Context) (*store.Store, error) { return store.Open(ctx, c.Database.URL.Reveal()) }}, nil
}

// moduleCmds are `fhirbridge <name>` of every module with its own
// subcommands (bridge.ModuleInfo.Commands).
func moduleCmds() []*cobra.Command {
	var out []*cobra.Command
	for _, m := range bridge.Modules() {
		if m.Commands == nil {
			continue
		}
		short := m.CommandsSummary
		if short == "" {
			short = m.Summary
		}
		cmd := &cobra.Command{Use: m.Name, Short: short}
		cmd.AddCommand(m.Commands()...)
		out = append(out, cmd)
	}
	return out
}

// newImportCmd is `fhirbridge import`: vendor reports into FHIR.
func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import vendor reports into FHIR (files, NDJSON, or the store)",
	}
	for _, mk := range importCommands {
		cmd.AddCommand(mk())
	}
	return cmd
}
