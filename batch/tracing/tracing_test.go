package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestEnabled(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr bool
	}{
		{"nothing set", nil, false, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, false},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, false},
		{"exporter otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{"exporter none wins", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false, false},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false, false},
		{"unsupported exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Enabled(func(k string) string { return tt.env[k] })
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Enabled = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{nil, "http/protobuf", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "http/protobuf", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "", true},
	}
	for _, tt := range tests {
		got, err := protocol(func(k string) string { return tt.env[k] })
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("protocol(%v) = %q, %v; want %q, error %v", tt.env, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/", "/"},
		{"/fhir", "/fhir"},
		{"/fhir/", "/fhir"},
		{"/fhir/Patient", "/fhir/Patient"},
		{"/fhir/Patient/pat-1", "/fhir/Patient/…"},
		{"/fhir/$validate", "/fhir/$validate"},
		{"/fhir/metadata", "/fhir/{id}"},
		{"/fhir/" + strings.Repeat("A", 65), "/fhir/{id}"},
	}
	for _, tt := range tests {
		if got := routeOf(tt.path); got != tt.want {
			t.Errorf("routeOf(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// newRecorder installs a provider recording ended spans.
func newRecorder(t *testing.T) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { Install(trace.NewNoopTracerProvider()) })
	return rec
}

func TestTraceparentRoundTrip(t *testing.T) {
	newRecorder(t)
	if got := Traceparent(context.Background()); got != "" {
		t.Errorf("Traceparent without a span = %q", got)
	}
	ctx, span := Tracer().Start(context.Background(), "x")
	defer span.End()
	tp := Traceparent(ctx)
	sc := FromTraceparent(tp)
	if !sc.IsValid() || sc.TraceID() != span.SpanContext().TraceID() || sc.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("FromTraceparent(%q) = %v, want the span's context", tp, sc)
	}
	for _, bad := range []string{"", "00-zz", strings.Repeat("0", 300)} {
		if FromTraceparent(bad).IsValid() {
			t.Errorf("FromTraceparent(%q) is valid", bad)
		}
	}
}

func TestMiddlewareContinuesClientTrace(t *testing.T) {
	rec := newRecorder(t)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Error("the handler's context has no span")
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	r := httptest.NewRequest("POST", "/fhir/Patient/p1?identifier=secret", nil)
	r.Header.Set("traceparent", parent)
	h.ServeHTTP(httptest.NewRecorder(), r)
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Name() != "POST /fhir/Patient/…" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v", s.Name(), s.SpanKind())
	}
	if s.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span not a child of the client's traceparent: %v parent %v", s.SpanContext(), s.Parent())
	}
	for _, kv := range s.Attributes() {
		if strings.Contains(kv.Value.Emit(), "secret") || strings.Contains(kv.Value.Emit(), "p1") {
			t.Errorf("attribute %s carries the path's id or query", kv.Key)
		}
	}
	if s.Status().Code.String() != "Error" {
		t.Errorf("a 502 span has status %v", s.Status())
	}
}

func TestLogHandlerAddsTraceID(t *testing.T) {
	newRecorder(t)
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("a", 1)
	log.InfoContext(context.Background(), "no span")
	ctx, span := Tracer().Start(context.Background(), "x")
	defer span.End()
	log.InfoContext(ctx, "with span")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log: %q", buf.String())
	}
	if strings.Contains(lines[0], "trace_id") {
		t.Errorf("a line without a span has a trace id: %s", lines[0])
	}
	if !strings.Contains(lines[1], "trace_id="+span.SpanContext().TraceID().String()) || !strings.Contains(lines[1], "a=1") {
		t.Errorf("line without the trace id or the logger's attributes: %s", lines[1])
	}
}

// FuzzRouteOf: a request path (hostile) never yields a span name longer
// than its bound or carrying more than the first two segments.
func FuzzRouteOf(f *testing.F) {
	for _, s := range []string{"/", "/fhir/Patient/1", "/fhir/$validate", "//", "/a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got := routeOf(path)
		if len(got) > 1+len(path)+len("/{id}/…") || strings.Count(got, "/") > 3 {
			t.Errorf("routeOf(%q) = %q", path, got)
		}
	})
}

// FuzzFromTraceparent: any stored text parses without panicking, and a
// valid result prints back as a traceparent of the same ids.
func FuzzFromTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		sc := FromTraceparent(s)
		if sc.IsValid() && !strings.Contains(s, sc.TraceID().String()) {
			t.Errorf("FromTraceparent(%q) = %v", s, sc)
		}
	})
}

// TestSetupExportsOTLPHTTP: with only OTEL_EXPORTER_OTLP_ENDPOINT set,
// Setup turns tracing on and shutdown flushes a span by OTLP/HTTP to
// /v1/traces; with nothing set it stays off.
func TestSetupExportsOTLPHTTP(t *testing.T) {
	t.Cleanup(func() { Install(trace.NewNoopTracerProvider()) })
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		t.Setenv(k, "")
	}
	if on, _, err := Setup(context.Background()); on || err != nil {
		t.Fatalf("Setup without OTEL_* = %v, %v; want off", on, err)
	}
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.Path
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	on, shutdown, err := Setup(context.Background())
	if !on || err != nil {
		t.Fatalf("Setup = %v, %v; want on", on, err)
	}
	_, span := Tracer().Start(context.Background(), "x")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		if req != "POST /v1/traces" {
			t.Errorf("the collector got %s", req)
		}
	default:
		t.Fatal("no span exported by shutdown")
	}
}
