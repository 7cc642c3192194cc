package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

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
		OpenStore: func(ctx context.Context) (*store.Store, error) { return openStore(ctx, c) },
		Router:    func() (*delivery.Router, error) { return app.Router(c) },
		Logger:    func(cmd *cobra.Command) (*slog.Logger, error) { return commandLogger(cmd, c) }}, nil
}

// openStore opens the store of c, creating a SQLite file's folder first
// as serve does.
func openStore(ctx context.Context, c *config.Config) (*store.Store, error) {
	if db := c.Database.URL.Reveal(); strings.HasPrefix(db, "sqlite://") {
		if err := os.MkdirAll(filepath.Dir(strings.TrimPrefix(db, "sqlite://")), 0o750); err != nil {
			return nil, fmt.Errorf("creating the data directory: %w", err)
		}
	}
	return store.Open(ctx, c.Database.URL.Reveal())
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

// addModuleSubcommands puts the commands of mods under the shared parent
// of root they name (bridge.ModuleInfo.Subcommands); a parent that is not
// import or export is a programming error and panics.
func addModuleSubcommands(root *cobra.Command, mods []bridge.ModuleInfo) {
	parents := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		parents[c.Name()] = c
	}
	for _, m := range mods {
		for name, mk := range m.Subcommands {
			p, ok := parents[name]
			if !ok || (name != "import" && name != "export") {
				panic(fmt.Sprintf("module %s: no shared parent command %q for its subcommands (import, export)", m.Name, name))
			}
			p.AddCommand(mk()...)
		}
	}
}

// newImportCmd is `fhirbridge import`: vendor reports into FHIR, each
// module's command (bridge.ModuleInfo.Subcommands["import"]).
func newImportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import",
		Short: "Import vendor reports into FHIR (files, NDJSON, or the store)",
	}
}

// newExportCmd is `fhirbridge export`: a vendor's scheduled export run
// now, each module's command (bridge.ModuleInfo.Subcommands["export"]).
func newExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Run a vendor export now (the same job serve runs on its schedule)",
	}
}
