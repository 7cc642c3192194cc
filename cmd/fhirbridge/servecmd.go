package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
)

func newServeCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve [--config FILE]",
		Short: "Run the FHIR endpoint that EHR interface engines post to",
		Long: `serve runs the FHIR R4 endpoint under /fhir (POST /fhir with a transaction
or batch Bundle; POST/PUT/GET /fhir/{type}[/{id}]; /fhir/metadata), with
/healthz, /readyz and /metrics beside it. What it acknowledges is durable:
a 200/201 is sent only after the store's commit (SQLite with
synchronous=FULL, or PostgreSQL).

HL7 v2: POST /hl7v2 takes one ER7 message (x-application/hl7-v2+er7) and
answers its ACK; with hl7v2.listen set, an MLLP listener takes messages
too. Each is mapped by the mapping hl7v2.mappings names for its MSH-9.1,
stored and routed as a posted Bundle, and acknowledged AA only after the
commit.

With no --config it runs on the embedded defaults: SQLite in ./fhirbridge-data,
listening on 127.0.0.1:8080 with no token (loopback only). FHIRBRIDGE_CONFIG
may name the file instead of --config. Every key can be overridden by an
environment variable (see the README's configuration reference).

SIGINT or SIGTERM stops it gracefully, within server.drain_timeout (30 s
by default) in all: new connections are refused and no more delivery
jobs are claimed at once; requests, MLLP messages and delivery attempts
in flight finish meanwhile; an attempt still running when the drain time
is up is interrupted and its job handed back, due now. SIGHUP is logged and ignored: there is no
reload; restart (replica by replica) to apply a new configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile == "" {
				configFile = os.Getenv("FHIRBRIDGE_CONFIG")
			}
			c, err := config.Load(configFile, os.Environ())
			if err != nil {
				return err
			}
			if err := c.Preflight(); err != nil {
				return err
			}
			log, err := commandLogger(cmd, c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			defer ignoreHangup(ctx, log)()
			return app.Serve(ctx, c, log, nil)
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (default: embedded defaults, or $FHIRBRIDGE_CONFIG)")
	return cmd
}

// ignoreHangup keeps SIGHUP (whose default action ends the process) from
// stopping serve until the returned func is called: each one is logged.
// Mappings, routes and schedules are built once at start and held by
// running workers, so a reload is not supported; a restart applies a new
// configuration, and a rolling restart of replicas keeps the bridge up.
func ignoreHangup(ctx context.Context, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-hup:
				log.Warn("SIGHUP ignored: serve does not reload its configuration; restart it to apply changes")
			case <-ctx.Done():
				return
			case <-quit:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(quit); <-done }
}
