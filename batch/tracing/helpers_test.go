package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestShortHash(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "e3b0c44298fc"}, // SHA-256 of nothing
		{"abc", "ba7816bf8f01"},
	}
	for _, tt := range tests {
		if got := ShortHash(tt.in); got != tt.want {
			t.Errorf("ShortHash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestDetached: a line logged after a span ended, with Detached, carries
// the span's ids; an invalid span context leaves ctx as it was.
func TestDetached(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	_, span := tp.Tracer("t").Start(context.Background(), "done")
	span.End()
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil)))
	log.InfoContext(Detached(context.Background(), span.SpanContext()), "after")
	if !strings.Contains(buf.String(), "trace_id="+span.SpanContext().TraceID().String()) ||
		!strings.Contains(buf.String(), "span_id="+span.SpanContext().SpanID().String()) {
		t.Errorf("line %q lacks the span's ids", buf.String())
	}
	ctx := context.Background()
	if got := Detached(ctx, trace.SpanContext{}); got != ctx {
		t.Errorf("an invalid span context changed ctx")
	}
}
