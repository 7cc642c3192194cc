package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/retention"
	"github.com/fhirbridge/fhirbridge/batch/search"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// Serve runs the bridge configured by c until ctx ends: the store, the
// vendor modules, the delivery workers, the FHIR endpoint and what the
// modules add to it. ready, when set, receives the address it
// listens on.
func Serve(ctx context.Context, c *config.Config, log *slog.Logger, ready func(addr string)) error {
	if db := c.Database.URL.Reveal(); strings.HasPrefix(db, "sqlite://") {
		if err := os.MkdirAll(filepath.Dir(strings.TrimPrefix(db, "sqlite://")), 0o750); err != nil {
			return fmt.Errorf("creating the data directory: %w", err)
		}
	}
	tracingOn, stopTracing, err := tracing.Setup(ctx)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() { // last: flushes the spans of the shutdown too
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("tracing stopped with an error", "error", err.Error())
		}
	}()
	log = slog.New(tracing.LogHandler(log.Handler()))
	if tracingOn {
		log.Info("tracing on: exporting spans by OTLP")
	}
	st, err := store.Open(ctx, c.Database.URL.Reveal())
	if err != nil {
		// c.Database.URL prints with its password redacted
		return fmt.Errorf("opening the store %s: %w", c.Database.URL, err)
	}
	defer st.Close()
	if err := st.LockServing(); err != nil {
		return err
	}
	node, err := cluster.Join(ctx, st, cluster.Options{Heartbeat: time.Duration(c.Cluster.Heartbeat),
		DeadAfter: time.Duration(c.Cluster.DeadAfter), Exclusive: st.SingleProcess(), Logger: log})
	if err != nil {
		return fmt.Errorf("joining the cluster: %w", err)
	}
	// The node beats until everything that holds work has stopped (the
	// deferred stops below run first), then leaves, handing back what it
	// still holds.
	nodeCtx, stopNode := context.WithCancel(context.WithoutCancel(ctx))
	nodeDone := make(chan struct{})
	go func() { defer close(nodeDone); node.Run(nodeCtx) }()
	defer func() { stopNode(); <-nodeDone }()
	var tokens []server.TokenHash
	for _, t := range c.Server.Tokens {
		h, err := server.ParseTokenHash(strings.TrimPrefix(t, "sha256:"))
		if err != nil {
			return fmt.Errorf("server.tokens: %w", err)
		}
		tokens = append(tokens, h)
	}
	mods, err := Modules(c)
	if err != nil {
		return err
	}
	fl, router, err := Flows(c, mods)
	if err != nil {
		return err
	}
	// The stop has one deadline, server.drain_timeout after it begins
	// (see Draining below): every stage gets what remains of it.
	drain := c.Server.Drain()
	var stopOnce sync.Once
	var stopBy time.Time
	stopCtx := func() (context.Context, context.CancelFunc) {
		stopOnce.Do(func() { stopBy = time.Now().Add(drain) })
		return context.WithDeadline(context.Background(), stopBy)
	}
	conc, vendorLimits, flowLimits := c.Delivery.DeliveryOptions()
	runner, err := delivery.NewRunner(ctx, st, fl, delivery.Options{Logger: log, StallAfter: time.Duration(c.Delivery.StallAfter), Router: router,
		Node: node, Concurrency: conc, Vendors: vendorLimits, Flows: flowLimits, Grace: drain})
	if err != nil {
		return fmt.Errorf("starting delivery: %w", err)
	}
	// Stopping the runner ends its claims; its attempts in flight get
	// the drain time (Grace) from then. It is stopped when the stop
	// begins, before the node leaves (the deferred stop below runs after
	// the others).
	deliverCtx, stopDelivering := context.WithCancel(context.WithoutCancel(ctx))
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runner.Run(deliverCtx) }()
	defer func() { stopDelivering(); <-runnerDone }()
	reg := prometheus.NewRegistry()
	reg.MustRegister(node.Collectors()...)
	reg.MustRegister(delivery.NewCollector(st), runner.Metrics(),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "fhirbridge_store_group_commits_total",
			Help: "SQLite commits, each carrying one or more concurrent store transactions (group commit).",
		}, func() float64 { g, _ := st.GroupCommits(); return float64(g) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "fhirbridge_store_grouped_transactions_total",
			Help: "Store transactions committed through SQLite group commits.",
		}, func() float64 { _, m := st.GroupCommits(); return float64(m) }))
	opts := server.Options{BodyLimit: c.Server.BodyLimit, Tokens: tokens, Logger: log, Registry: reg,
		MaxElements: c.Server.MaxElements, MaxArray: c.Server.MaxArray, MaxDecodes: c.Server.MaxDecodes,
		DecodeWait: time.Duration(c.Server.DecodeWait), MetricsAuth: c.Server.MetricsAuth,
		Searches: search.Searchers(st)} // modules add theirs (the Solo Slot search) in mods.Serve
	// Retention runs on one replica at a time; its passes are safe
	// concurrently anyway (every delete re-checks its condition).
	pruner, err := retention.New(st, retention.FromConfig(c.Retention), retention.Options{Log: log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	mux := http.NewServeMux()
	bg := []func(ctx context.Context){node.Singleton("retention", func(ctx context.Context) { _ = pruner.Run(ctx) })}
	if types := mods.FHIRTypes(server.DefaultTypes); len(types) > len(server.DefaultTypes) {
		opts.Types = types
	}
	env := &bridge.ServeEnv{Store: st, Router: router, Log: log, Registry: reg, Server: &opts, Node: node,
		HandleFunc: func(pattern string, h http.Handler) { mux.Handle(pattern, h) },
		GoFunc:     func(fn func(ctx context.Context)) { bg = append(bg, fn) }}
	if err := mods.Serve(ctx, env); err != nil {
		return err
	}
	_, stopConsole, err := startConsole(ctx, c, st, console.Ops{Runner: runner, Modules: mods, Router: router}, log, mux, func(fn func(ctx context.Context)) { bg = append(bg, fn) })
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := stopCtx()
		defer cancel()
		if err := stopConsole(sctx); err != nil {
			log.Warn("console stopped with an error", "error", err.Error())
		}
	}()
	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx)) // the background work's
	extDone := make(chan struct{}, len(bg))
	for _, fn := range bg {
		go func() { fn(runCtx); extDone <- struct{}{} }()
	}
	defer func() {
		stopRunner()
		sctx, cancel := stopCtx()
		defer cancel()
		waitBackground(sctx, extDone, len(bg), log)
	}()
	backend := readyBackend{&ingest.Backend{Store: st, Router: router}, runner}
	hl7, err := startHL7v2(c, backend, st, opts.Types, tokens, log, reg)
	if err != nil {
		return err
	}
	// stopHL7 closes the MLLP listener; messages in hand are committed
	// and acknowledged (before the store closes) within the stop's time.
	stopHL7 := sync.OnceFunc(func() {
		sctx, cancel := stopCtx()
		defer cancel()
		if err := hl7.shutdown(sctx); err != nil {
			log.Warn("MLLP listener stopped with an error", "error", err.Error())
		}
	})
	defer stopHL7()
	if hl7.http != nil {
		mux.Handle("/hl7v2", hl7.http)
	}
	mux.Handle("/", tracing.Middleware(server.New(backend, opts)))
	srv := server.NewHTTPServer(c.Server.Listen, logging.Middleware(logging.AccessLog(log, func(r *http.Request) string { return logRoute(mux, r) }, mux)))
	if c.Server.TLS.CertFile != "" {
		tc, err := tlsConfig(c.Server.TLS)
		if err != nil {
			return err
		}
		srv.TLSConfig = tc
	}
	ln, err := net.Listen("tcp", c.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.Server.Listen, err)
	}
	if len(tokens) == 0 {
		log.Warn("no bearer token configured: listening on loopback only", "addr", ln.Addr().String())
	} else {
		log.Info("listening", "addr", ln.Addr().String(), "tokens", len(tokens), "tls", c.Server.TLS.CertFile != "", "routes", len(router.Routes))
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, c.Server.TLS.CertFile, c.Server.TLS.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Draining, within one deadline (server.drain_timeout from now): at
	// once the delivery runner claims no more jobs, and the HTTP and MLLP
	// listeners close (new connections are refused); together, the
	// requests and MLLP messages in flight are answered and the delivery
	// attempts in flight finish and record their outcome. An attempt still
	// running at the deadline is interrupted and its job handed back, due
	// now, with no owner nor lease. Then the background work and the
	// console stop (within what remains: background work still running at
	// the deadline is not waited for), and the node leaves the cluster,
	// releasing its claims.
	log.Info("shutting down", "drain_timeout", drain.String())
	sctx, cancel := stopCtx()
	defer cancel()
	stopDelivering()
	hl7Stopped := make(chan struct{})
	go func() { defer close(hl7Stopped); stopHL7() }()
	defer func() { <-hl7Stopped }()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// waitBackground waits for n background tasks to report on done, until
// ctx ends (the drain deadline): a task that ignores its cancelled context
// (a vendor call blocked without a deadline) must not hold the stop past
// server.drain_timeout. It logs how many were left and returns; the
// process then exits, and what they held is handed back by the cluster's
// release or the lease.
func waitBackground(ctx context.Context, done <-chan struct{}, n int, log *slog.Logger) {
	for left := n; left > 0; left-- {
		select {
		case <-done:
		case <-ctx.Done():
			log.Warn("background work still running at the end of the drain time: not waited for", "tasks", left)
			return
		}
	}
}

// tlsConfig requires client certificates signed by ClientCAFile when set
// (mutual TLS).
func tlsConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("server.tls.client_ca_file: no PEM certificate in it")
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Start runs Serve in the background and returns the address it
// listens on and the channel its result arrives on once ctx ends (for the
// demo and tests).
func Start(ctx context.Context, c *config.Config, log *slog.Logger) (addr string, done <-chan error, err error) {
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, c, log, func(a string) { addrc <- a }) }()
	select {
	case a := <-addrc:
		return a, errc, nil
	case err := <-errc:
		return "", nil, err
	}
}

// logRoute is what the access log shows of r's path: the FHIR endpoint's
// path (types and ids of our store), else the pattern of the route that
// serves r, so that a secret in a path (a webhook's token) is never logged.
func logRoute(mux *http.ServeMux, r *http.Request) string {
	if p := r.URL.Path; p == "/fhir" || strings.HasPrefix(p, "/fhir/") {
		return p
	}
	if _, pattern := mux.Handler(r); pattern != "" {
		return pattern
	}
	return "(no route)"
}
