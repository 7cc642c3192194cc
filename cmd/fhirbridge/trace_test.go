package main

import (
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/tracing"
)

// TestServeTraceSpanTree posts one transaction Bundle (3 Patients, 4
// Appointments) through serve with an in-memory span recorder and checks
// the tree: the POST's server span is the root; validation and the store
// commit are its children; each route's enqueueing is a child of the
// commit; and every delivery attempt, run later by the runner, is a child
// of its route's span, in the same trace, with vendor, flow, job id,
// attempt and outcome, its calls to Solo client spans under it, and no
// patient value anywhere in the spans.
func TestServeTraceSpanTree(t *testing.T) {
	rec := recordSpans(t)

	b := startBridge(t, "connectors:\n  $SOLO\n"+soloRoutes)
	post(t, b.Base+"/fhir", benchBundle(424242), http.StatusOK)
	b.Wait("7 delivered attempts", func() bool { return deliveredAttempts(rec, "") == 7 })
	b.Stop()

	spans := rec.Ended()
	byID, root := spanTree(t, spans, "POST /fhir")
	if root.Parent().IsValid() || root.SpanKind() != trace.SpanKindServer {
		t.Errorf("the POST span is not a server root span (parent %v, kind %v)", root.Parent(), root.SpanKind())
	}
	if got := attrInt(root, "http.response.status_code"); got != http.StatusOK {
		t.Errorf("POST span status code %d", got)
	}
	parentName := func(s sdktrace.ReadOnlySpan) string {
		if p, ok := byID[s.Parent().SpanID()]; ok {
			return p.Name()
		}
		return ""
	}
	counts := map[string]int{}
	for _, s := range spans {
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q in another trace", s.Name())
			continue
		}
		for _, kv := range s.Attributes() {
			if v := kv.Value.Emit(); strings.Contains(v, "Ejemplo") || strings.Contains(v, "MRN-B") || strings.Contains(v, "example.org") {
				t.Errorf("span %q attribute %s carries a patient value", s.Name(), kv.Key)
			}
		}
		name, parent := s.Name(), parentName(s)
		switch {
		case name == "POST /fhir":
		case name == "validate Bundle", name == "store commit":
			if parent != "POST /fhir" {
				t.Errorf("%q is a child of %q, want POST /fhir", name, parent)
			}
			if name == "validate Bundle" && attr(s, "fhirbridge.valid") != "true" {
				t.Errorf("validate span of a valid Bundle: %v", s.Attributes())
			}
		case strings.HasPrefix(name, "route "):
			if parent != "store commit" {
				t.Errorf("%q is a child of %q, want store commit", name, parent)
			}
		case strings.HasPrefix(name, "deliver "):
			flow := strings.TrimPrefix(name, "deliver ")
			if parent != "route "+flow {
				t.Errorf("%q is a child of %q, want route %s", name, parent, flow)
			}
			if attr(s, "fhirbridge.vendor") != "solo" || attr(s, "fhirbridge.flow") != flow ||
				attrInt(s, "fhirbridge.job_id") < 1 || attrInt(s, "fhirbridge.attempt") < 1 || attr(s, "fhirbridge.outcome") == "" {
				t.Errorf("%q attributes %v", name, s.Attributes())
			}
		case strings.HasPrefix(name, "map "):
			if !strings.HasPrefix(parent, "deliver ") {
				t.Errorf("%q is a child of %q, want a delivery attempt", name, parent)
			}
		case s.SpanKind() == trace.SpanKindClient: // a call to the vendor (connectors.Transport)
			if !strings.HasPrefix(parent, "deliver ") {
				t.Errorf("client span %q is a child of %q, want a delivery attempt", name, parent)
			}
		default:
			t.Errorf("unexpected span %q (child of %q)", name, parent)
		}
		counts[name]++
	}
	for name, want := range map[string]int{"validate Bundle": 1, "store commit": 1, "route solo-patients": 3, "route solo-appointments": 4} {
		if counts[name] != want {
			t.Errorf("%d %q spans, want %d (all: %v)", counts[name], name, want, counts)
		}
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func attrInt(s sdktrace.ReadOnlySpan, key string) int64 {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsInt64()
		}
	}
	return -1
}

// recordSpans installs, for the test's length, a tracer provider that
// records every ended span in memory.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

// deliveredAttempts counts the ended delivery attempt spans of flow ("":
// of every flow) whose outcome is delivered.
func deliveredAttempts(rec *tracetest.SpanRecorder, flow string) (n int) {
	for _, s := range rec.Ended() {
		if (s.Name() == "deliver "+flow || flow == "" && strings.HasPrefix(s.Name(), "deliver ")) && attr(s, "fhirbridge.outcome") == "delivered" {
			n++
		}
	}
	return n
}

// spanTree indexes spans by id and returns the one span named root,
// failing the test when there is none or more than one.
func spanTree(t *testing.T, spans []sdktrace.ReadOnlySpan, root string) (map[trace.SpanID]sdktrace.ReadOnlySpan, sdktrace.ReadOnlySpan) {
	t.Helper()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var found sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == root {
			if found != nil {
				t.Fatalf("two %q spans", root)
			}
			found = s
		}
	}
	if found == nil {
		t.Fatalf("no %q span among %d", root, len(spans))
	}
	return byID, found
}
