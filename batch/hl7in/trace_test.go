package hl7in

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// recordSpans installs an in-memory span recorder for the test.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// jsonLines decodes the JSON log lines whose msg is msg.
func jsonLines(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line not JSON: %q", l)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestReceiveSpans: each message over MLLP gets an "hl7v2 receive" span
// (type, trigger, ack, transport, message hash; error status unless AA)
// with the mapping and the store commit as children, a request id of its
// own, and a log line carrying that request id, the span's trace id and
// the message hash; no patient value is in a span.
func TestReceiveSpans(t *testing.T) {
	rec := recordSpans(t)
	r := newRig(t, sqliteURL(t))
	logs := &syncBuffer{}
	r.h.Logger = slog.New(tracing.LogHandler(logging.ContextHandler{Handler: slog.NewJSONHandler(logs, nil)}))
	tests := []struct {
		name, event, control, dob string
		ack, trigger, location    string
		commit                    bool
	}{
		{"accepted", "A04", canaryCtl + "-1", canaryDOB, "AA", "A04", "", true},
		{"mapping error", "A08", canaryCtl + "-2", "19XX", "AE", "A08", "PID-7", false},
		{"event not taken", "A13", canaryCtl + "-3", canaryDOB, "AR", "A13", "", false},
	}
	seenIDs := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			before := len(jsonLines(t, logs.String(), "hl7v2 message"))
			msg := adt(tc.event, tc.control, canaryMRN, tc.dob)
			if got := field(t, r.send(msg)[0], "MSA-1"); got != tc.ack {
				t.Fatalf("MSA-1 %s, want %s", got, tc.ack)
			}
			parsed, err := hl7v2.Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			hash := MessageHash(parsed.Segment("MSH", 1))
			byName := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				byName[s.Name()] = s
				for _, a := range s.Attributes() {
					for _, c := range []string{canaryName, canaryGiven, canaryMRN, canaryPhone, canaryDOB, canaryCtl} {
						if strings.Contains(a.Value.Emit(), c) {
							t.Errorf("span %s attribute %s holds the patient value %q", s.Name(), a.Key, c)
						}
					}
				}
			}
			recv := byName[SpanReceive]
			if recv == nil {
				t.Fatalf("no %s span among %d", SpanReceive, len(rec.Ended()))
			}
			want := map[string]string{"fhirbridge.message_type": "ADT^" + tc.event, "fhirbridge.trigger": tc.trigger,
				"fhirbridge.ack": tc.ack, "fhirbridge.transport": "mllp", "fhirbridge.message": hash}
			for k, v := range want {
				if got := spanAttr(recv, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if recv.SpanKind() != trace.SpanKindServer || recv.Parent().IsValid() {
				t.Errorf("receive span: kind %v, parent %v; want a server root", recv.SpanKind(), recv.Parent())
			}
			if isErr := recv.Status().Code == codes.Error; isErr != (tc.ack != "AA") {
				t.Errorf("receive span status %v with ACK %s", recv.Status(), tc.ack)
			}
			children := []string{SpanMap}
			if tc.commit {
				children = append(children, "store commit")
			}
			for _, name := range children {
				s := byName[name]
				if s == nil {
					t.Errorf("no %s span", name)
					continue
				}
				if s.Parent().SpanID() != recv.SpanContext().SpanID() || s.SpanContext().TraceID() != recv.SpanContext().TraceID() {
					t.Errorf("%s is not a child of the receive span", name)
				}
			}
			if tc.location != "" && spanAttr(byName[SpanMap], "fhirbridge.location") != tc.location {
				t.Errorf("map span location %q, want %s", spanAttr(byName[SpanMap], "fhirbridge.location"), tc.location)
			}
			if !tc.commit && byName["store commit"] != nil {
				t.Errorf("a store commit span for a message not taken")
			}
			lines := jsonLines(t, logs.String(), "hl7v2 message")
			if len(lines) != before+1 {
				t.Fatalf("%d hl7v2 message lines, want %d", len(lines), before+1)
			}
			l := lines[len(lines)-1]
			id, _ := l["request_id"].(string)
			if id == "" || seenIDs[id] {
				t.Errorf("request_id %q: want a new one per message", id)
			}
			seenIDs[id] = true
			if l["trace_id"] != recv.SpanContext().TraceID().String() || l["message"] != hash {
				t.Errorf("log line trace_id %v message %v, want %s %s", l["trace_id"], l["message"], recv.SpanContext().TraceID(), hash)
			}
		})
	}
	for _, c := range []string{canaryName, canaryGiven, canaryMRN, canaryPhone, canaryDOB, canaryCtl} {
		if strings.Contains(logs.String(), c) {
			t.Errorf("the JSON logs hold the patient value %q", c)
		}
	}
}

// TestPostReceiveSpan: POST /hl7v2 continues the sender's traceparent and
// keeps the X-Request-Id middleware's request id.
func TestPostReceiveSpan(t *testing.T) {
	rec := recordSpans(t)
	r := newRig(t, sqliteURL(t))
	logs := &syncBuffer{}
	r.h.Logger = slog.New(tracing.LogHandler(logging.ContextHandler{Handler: slog.NewJSONHandler(logs, nil)}))
	srv := httptest.NewServer(logging.Middleware(&HTTPHandler{Handler: r.h}))
	t.Cleanup(srv.Close)
	const traceID, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(adt("A04", "P1", canaryMRN, canaryDOB)))
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("X-Request-Id", "sender-req-7")
	req.Header.Set("traceparent", fmt.Sprintf("00-%s-%s-01", traceID, parent))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var recv sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == SpanReceive {
			recv = s
		}
	}
	if recv == nil {
		t.Fatal("no receive span")
	}
	if recv.SpanContext().TraceID().String() != traceID || recv.Parent().SpanID().String() != parent {
		t.Errorf("receive span %v parent %v: want the sender's trace", recv.SpanContext().TraceID(), recv.Parent().SpanID())
	}
	if got := spanAttr(recv, "fhirbridge.transport"); got != "http" {
		t.Errorf("transport %q", got)
	}
	lines := jsonLines(t, logs.String(), "hl7v2 message")
	if len(lines) != 1 || lines[0]["request_id"] != "sender-req-7" || lines[0]["trace_id"] != traceID {
		t.Errorf("log lines %v: want request_id sender-req-7 and the sender's trace id", lines)
	}
}
