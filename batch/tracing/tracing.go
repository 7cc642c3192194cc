// Package tracing sets up OpenTelemetry tracing for `fhirbridge serve`:
// off unless the standard OTEL_* variables name an exporter, then spans go
// by OTLP (HTTP or gRPC) to a collector. It also carries a trace context
// across the delivery queue (W3C traceparent text stored with a job) and
// adds the trace id to log lines.
//
// Spans carry ids of our own, resource types, flows, vendors, job ids,
// attempts and outcomes; never the values of patient fields.
package tracing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of fhirbridge's spans.
const Name = "github.com/fhirbridge/fhirbridge"

// Tracer is fhirbridge's tracer from the global provider (a no-op one
// until Setup installs a real one).
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Enabled reports whether the OTEL_* variables read by getenv configure a
// trace exporter: OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// while OTEL_TRACES_EXPORTER is unset. OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn it off.
func Enabled(getenv func(string) string) (bool, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp and none are supported", exp)
	}
}

// protocol is the OTLP transport the variables ask for: "grpc" or
// "http/protobuf" (the default, as the specification says).
func protocol(getenv func(string) string) (string, error) {
	p := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if p == "" {
		p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch p {
	case "", "http/protobuf":
		return "http/protobuf", nil
	case "grpc":
		return "grpc", nil
	default:
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: use grpc or http/protobuf", p)
	}
}

// Setup installs the global tracer provider and the W3C trace context
// propagator when the environment enables tracing (see Enabled); the
// exporters read the rest of the OTEL_EXPORTER_OTLP_* variables, and
// OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES describe the service. The
// returned shutdown flushes and stops the provider; it is a no-op when
// tracing is off.
func Setup(ctx context.Context) (enabled bool, shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	on, err := Enabled(os.Getenv)
	if err != nil || !on {
		return false, noop, err
	}
	proto, err := protocol(os.Getenv)
	if err != nil {
		return false, noop, err
	}
	var exp sdktrace.SpanExporter
	if proto == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return false, noop, fmt.Errorf("starting the OTLP trace exporter (%s): %w", proto, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", serviceName())))
	if err != nil {
		return false, noop, fmt.Errorf("describing the service for tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	Install(tp)
	return true, tp.Shutdown, nil
}

// serviceName is OTEL_SERVICE_NAME, "fhirbridge" by default.
func serviceName() string {
	if s := os.Getenv("OTEL_SERVICE_NAME"); s != "" {
		return s
	}
	return "fhirbridge"
}

// Install makes tp the global tracer provider and the W3C trace context
// the propagator (tests install one with an in-memory exporter).
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
}

// Traceparent is the W3C traceparent header value of ctx's span, or ""
// when ctx carries no valid (recorded or remote) span context.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c.Get("traceparent")
}

// FromTraceparent parses a stored traceparent value; an empty or
// malformed one gives an invalid span context.
func FromTraceparent(tp string) trace.SpanContext {
	if tp == "" || len(tp) > 256 {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
	return trace.SpanContextFromContext(ctx)
}

// End records err on span (its text only: our errors carry no patient
// values) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Middleware wraps the FHIR endpoint with a server span per request,
// continuing a traceparent the client sent. The span is named by method
// and resource type (the first path segment after /fhir), never by ids or
// query values.
func Middleware(next http.Handler) http.Handler {
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		route := routeOf(r.URL.Path)
		ctx, span := Tracer().Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// routeOf keeps "/fhir" and the next segment when it looks like a
// resource type or an operation ("/fhir/Patient", "/fhir/$validate").
func routeOf(path string) string {
	segs := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(segs) == 0 || segs[0] == "" {
		return "/"
	}
	out := "/" + segs[0]
	if len(segs) > 1 && segs[1] != "" {
		c := segs[1][0]
		if len(segs[1]) <= 64 && (c == '$' || c == '_' || (c >= 'A' && c <= 'Z')) {
			out += "/" + segs[1]
		} else {
			out += "/{id}"
		}
	}
	if len(segs) > 2 {
		out += "/…"
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// LogHandler adds trace_id and span_id to the records of h logged with a
// context that carries a valid span (the slog *Context methods).
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }

// ShortHash is the first 12 hex digits of the SHA-256 of s: a value-free
// handle on a name that may not be carried as is (an HL7 v2 control id, a
// file name), for span attributes and log lines.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// Detached returns ctx with the span context sc (of a span that may have
// ended) instead of its own span, so that lines logged later about
// what span did carry its trace id (see LogHandler).
func Detached(ctx context.Context, sc trace.SpanContext) context.Context {
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithSpanContext(ctx, sc)
}
