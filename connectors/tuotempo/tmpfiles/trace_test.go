package tmpfiles

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestPollOnceSpans: a poll pass is a "tmpfiles poll" span with a
// "tmpfiles file" child per file taken (feed, hashed path, outcome,
// rows); the file's log line carries the file's request id and its span's
// trace id; no cell of the file nor its name is in a span.
func TestPollOnceSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp"})
	const name = "TT_RESERVATIONS_TMP_1.csv"
	e.drop(name, tmpHeader+"1,,TT-9,ADD,02/12/2026,09:30,09:50,,U-1,Zorblatt,600000001,prac-1,act-1,,,2026-12-01 09:00:00\n")
	var logs bytes.Buffer
	log := slog.New(tracing.LogHandler(logging.ContextHandler{Handler: slog.NewJSONHandler(&logs, nil)}))
	open := func(ctx context.Context) (connectors.Remote, error) {
		return connectors.OpenRemote(ctx, connectors.RemoteConfig{Kind: "local", Dir: e.dir})
	}
	PollOnce(context.Background(), e.p, open, log) // sees the file
	PollOnce(context.Background(), e.p, open, log) // takes it
	var polls, files []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		for _, a := range s.Attributes() {
			if v := a.Value.Emit(); strings.Contains(v, "Zorblatt") || strings.Contains(v, "600000001") || strings.Contains(v, "RESERVATIONS") {
				t.Errorf("span %s attribute %s = %q carries a cell or the file name", s.Name(), a.Key, v)
			}
		}
		switch s.Name() {
		case SpanPoll:
			polls = append(polls, s)
		case SpanFile:
			files = append(files, s)
		}
	}
	if len(polls) != 2 || len(files) != 1 {
		t.Fatalf("%d poll and %d file spans, want 2 and 1", len(polls), len(files))
	}
	f := files[0]
	if f.Parent().SpanID() != polls[1].SpanContext().SpanID() {
		t.Errorf("the file span is not a child of the second poll")
	}
	for k, v := range map[string]string{"fhirbridge.feed": "tt-tmp", "fhirbridge.file": tracing.ShortHash(name),
		"fhirbridge.outcome": "ok", "fhirbridge.rows_ok": "1", "fhirbridge.rows_failed": "0"} {
		if got := spanAttr(f, k); got != v {
			t.Errorf("file span %s = %q, want %q", k, got, v)
		}
	}
	if got := spanAttr(polls[1], "fhirbridge.files"); got != "1" {
		t.Errorf("poll span files = %q", got)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("want one log line: %v\n%s", err, logs.String())
	}
	if id, _ := line["request_id"].(string); id == "" || line["trace_id"] != f.SpanContext().TraceID().String() || line["span_id"] != f.SpanContext().SpanID().String() {
		t.Errorf("the file's line %s: want its request id and the file span's ids", logs.String())
	}
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}
