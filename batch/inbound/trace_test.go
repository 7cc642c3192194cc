package inbound

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// ctxRouter records the request id and span context each Route call's
// context carries (what delivery.Enqueue stores with a job).
type ctxRouter struct {
	mu    sync.Mutex
	ids   []string
	spans []trace.SpanContext
}

func (r *ctxRouter) Route(ctx context.Context, _ *store.Tx, _, _ string, _ int, _ *fhir.Value) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, logging.RequestID(ctx))
	r.spans = append(r.spans, trace.SpanContextFromContext(ctx))
	return nil
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// TestPollSpans: a poll pass is an "inbound poll" span, each file taken an
// "inbound file" child (feed, hashed name, outcome, rows) with a request
// id of its own that the routed Appointments' context carries, as does
// the line logged with FileReport.LogContext; the file's name is in no
// span.
func TestPollSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	router := &ctxRouter{}
	e := newEnv(t, Spec{}, Options{Router: router}, "a1", "a2")
	const name = "cancellations_SECRETNAME.csv"
	e.remote.write(name, rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;CANCELLED by USER", "zz;;;;p;CANCELLED by USER"))
	e.poll(0)
	rec.Reset()
	rep := e.poll(2 * time.Minute)
	if len(rep.Files) != 1 || rep.Files[0].Err != nil {
		t.Fatalf("report %+v", rep)
	}
	fr := rep.Files[0]
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), "SECRETNAME") {
				t.Errorf("span %s attribute %s carries the file name", s.Name(), a.Key)
			}
		}
	}
	poll, file := byName[SpanPoll], byName[SpanFile]
	if poll == nil || file == nil {
		t.Fatalf("spans %v: want %s and %s", byName, SpanPoll, SpanFile)
	}
	if file.Parent().SpanID() != poll.SpanContext().SpanID() {
		t.Errorf("the file span is not a child of the poll span")
	}
	for s, want := range map[sdktrace.ReadOnlySpan]map[string]string{
		poll: {"fhirbridge.feed": "tuotempo-cancellations", "fhirbridge.files": "1", "fhirbridge.files_failed": "0"},
		file: {"fhirbridge.feed": "tuotempo-cancellations", "fhirbridge.file": tracing.ShortHash(name),
			"fhirbridge.outcome": "partial", "fhirbridge.rows_ok": "2", "fhirbridge.rows_failed": "1"},
	} {
		for k, v := range want {
			if got := spanAttr(s, k); got != v {
				t.Errorf("%s %s = %q, want %q", s.Name(), k, got, v)
			}
		}
	}
	if len(router.ids) != 2 {
		t.Fatalf("%d routed Appointments, want 2", len(router.ids))
	}
	for i, id := range router.ids {
		if id == "" || id != fr.RequestID {
			t.Errorf("route %d: request id %q, want the file's %q", i, id, fr.RequestID)
		}
		if router.spans[i].TraceID() != file.SpanContext().TraceID() {
			t.Errorf("route %d is not in the file's trace", i)
		}
	}
	var logs bytes.Buffer
	log := slog.New(tracing.LogHandler(logging.ContextHandler{Handler: slog.NewJSONHandler(&logs, nil)}))
	log.InfoContext(fr.LogContext(context.Background()), "inbound file")
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["request_id"] != fr.RequestID || line["trace_id"] != file.SpanContext().TraceID().String() {
		t.Errorf("the file's line %s: want request_id %s and the file span's trace", logs.String(), fr.RequestID)
	}
}
