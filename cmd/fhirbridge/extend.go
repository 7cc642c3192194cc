package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// serveEnv is what a serve extension gets: the loaded config, the store,
// the delivery router, the log and metrics registry, the FHIR endpoint's
// options (to add to before the endpoint is built), a way to mount
// handlers beside /fhir and a way to run background work.
type serveEnv struct {
	Config   *config.Config
	Store    *store.Store
	Router   *delivery.Router
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Server are the FHIR endpoint's options, built after every extension ran.
	Server *server.Options

	handle func(pattern string, h http.Handler)
	goFn   func(fn func(ctx context.Context))
}

// Handle mounts h at pattern (a net/http ServeMux pattern such as
// "POST /solo/webhooks/{token}") beside the FHIR endpoint, which keeps "/".
// Such handlers do their own authentication.
func (e *serveEnv) Handle(pattern string, h http.Handler) { e.handle(pattern, h) }

// Go runs fn in the background from the moment serve listens; its context
// ends when serve stops, and serve waits for fn to return.
func (e *serveEnv) Go(fn func(ctx context.Context)) { e.goFn(fn) }

// serveExtensions add to serve (webhook receivers, FHIR searches answered
// by a vendor, pollers), each registered from its own file's init with
// registerServe. An extension returns an error for a config it cannot run.
var serveExtensions []func(ctx context.Context, env *serveEnv) error

// registerServe adds a serve extension; called from init.
func registerServe(ext func(ctx context.Context, env *serveEnv) error) {
	serveExtensions = append(serveExtensions, ext)
}

// soloCommands are the subcommands of `fhirbridge solo`, and
// importCommands those of `fhirbridge import`, each registered from its
// own file's init.
var soloCommands, importCommands []func() *cobra.Command

// newSoloCmd is `fhirbridge solo`: operations on Teladoc Health Solo.
func newSoloCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "solo",
		Short: "Teladoc Health Solo operations (webhooks, links, ...)",
	}
	for _, mk := range soloCommands {
		cmd.AddCommand(mk())
	}
	return cmd
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
