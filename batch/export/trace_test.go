package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/connectors"
)

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// TestRunSpans: a run is an "export run" span (export name, records,
// files, outcome) with its build and upload as children, and its log line
// carries a run id as request_id and the span's trace id.
func TestRunSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	cases := []struct {
		name    string
		fail    []error
		dry     bool
		outcome string
		files   string
		upload  bool
	}{
		{"uploaded", nil, false, RunOK, "2", true},
		{"dry run", nil, true, RunDry, "0", false},
		{"upload refused", []error{connectors.Permanently(errors.New("550 permission denied"))}, false, RunFailed, "0", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			st := openStore(t)
			loadFixture(t, st)
			var logs bytes.Buffer
			log := slog.New(tracing.LogHandler(logging.ContextHandler{Handler: slog.NewJSONHandler(&logs, nil)}))
			opt := RunOptions{DryRun: tc.dry, Clock: &fakeClock{now: exportAt}, Log: log}
			res, err := Run(context.Background(), st, newFakeRemote(tc.fail...), mustSpec(t, "spans", "tuotempo/export", nil), exportAt, opt)
			if (err != nil) != (tc.outcome == RunFailed) {
				t.Fatalf("Run: %v", err)
			}
			byName := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				byName[s.Name()] = s
			}
			run := byName[SpanRun]
			if run == nil {
				t.Fatalf("no %s span", SpanRun)
			}
			want := tc.outcome
			if want == RunOK && res.RefusedCount > 0 { // the fixture holds resources the mapping refuses
				want = RunPartial
			}
			for k, v := range map[string]string{"fhirbridge.export": "spans", "fhirbridge.outcome": want,
				"fhirbridge.files": tc.files, "fhirbridge.records": jsonInt(res.Rows)} {
				if got := spanAttr(run, k); got != v {
					t.Errorf("run span %s = %q, want %q", k, got, v)
				}
			}
			if (run.Status().Code == codes.Error) != (tc.outcome == RunFailed) {
				t.Errorf("run span status %v", run.Status())
			}
			if res.Rows == 0 && tc.outcome != RunFailed {
				t.Errorf("the fixture gave no rows: the test proves nothing")
			}
			children := []string{SpanBuild}
			if tc.upload {
				children = append(children, SpanUpload)
			} else if byName[SpanUpload] != nil {
				t.Errorf("an upload span for a dry run")
			}
			for _, name := range children {
				s := byName[name]
				if s == nil || s.Parent().SpanID() != run.SpanContext().SpanID() {
					t.Errorf("%s missing or not a child of the run", name)
				}
			}
			if tc.outcome == RunFailed {
				return // the Runner logs failures
			}
			var line map[string]any
			if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
				t.Fatalf("want one JSON line: %v\n%s", err, logs.String())
			}
			if id, _ := line["request_id"].(string); id == "" || line["trace_id"] != run.SpanContext().TraceID().String() {
				t.Errorf("the run's line lacks its run id or trace id: %s", strings.TrimSpace(logs.String()))
			}
		})
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
