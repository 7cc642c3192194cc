package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestObsIntakeHL7Trace sends one SIU^S12 over MLLP to serve logging JSON,
// with an in-memory span recorder, and follows it to Solo: the delivery
// attempts' spans descend from the message's "hl7v2 receive" span, in its
// trace; the receive's log line and the attempts' lines carry the same
// request_id (and the receive's the message hash, not the control id);
// no patient value of the message is in the log or a span.
func TestObsIntakeHL7Trace(t *testing.T) {
	rec := recordSpans(t)

	mllpAddr := freeAddr(t)
	sim := solosim.New(solosim.Options{APIKey: "k-test", WaitingRooms: []string{"General Practice", "Telehealth"}})
	b := startBridgeLog(t, sim, "connectors:\n  $SOLO\n"+soloRoutes+"hl7v2:\n  listen: \""+mllpAddr+"\"\n  params: {zone: Europe/Madrid}\n", "json")
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	if code, loc := mllpAck(t, mllpAddr, siuMessage("S12", "SIU-0001", start)); code != "AA" {
		t.Fatalf("S12: %s at %q, want AA", code, loc)
	}
	b.Wait("the appointment delivered to Solo", func() bool {
		return deliveredAttempts(rec, "solo-appointments") > 0 && len(sim.Appointments()) == 1
	})
	b.Wait("the attempts' log lines", func() bool { return strings.Count(b.Log(), `"msg":"delivery attempt"`) >= 1 })
	b.Stop()

	// the span tree: every delivery attempt descends from the receive span
	spans := rec.Ended()
	byID, recv := spanTree(t, spans, "hl7v2 receive")
	for k, v := range map[string]string{"fhirbridge.message_type": "SIU^S12", "fhirbridge.trigger": "S12",
		"fhirbridge.ack": "AA", "fhirbridge.transport": "mllp", "fhirbridge.mapping": "hl7v2/siu-appointment"} {
		if got := attr(recv, k); got != v {
			t.Errorf("receive span %s = %q, want %q", k, got, v)
		}
	}
	hash := attr(recv, "fhirbridge.message")
	if len(hash) != 12 {
		t.Errorf("receive span message hash %q, want 12 hex digits", hash)
	}
	attempts := 0
	for _, s := range spans {
		if !strings.HasPrefix(s.Name(), "deliver ") {
			continue
		}
		attempts++
		if s.SpanContext().TraceID() != recv.SpanContext().TraceID() {
			t.Errorf("%s is in trace %s, not the receive's %s", s.Name(), s.SpanContext().TraceID(), recv.SpanContext().TraceID())
			continue
		}
		var path []string
		p := s
		for p != nil && p != recv {
			path = append(path, p.Name())
			p = byID[p.Parent().SpanID()]
		}
		if p != recv {
			t.Errorf("%s does not descend from the receive span (ancestors %v)", s.Name(), path)
		} else if len(path) < 3 || path[len(path)-1] != "store commit" || !strings.HasPrefix(path[len(path)-2], "route ") {
			t.Errorf("%s: ancestors %v, want route then store commit under the receive span", s.Name(), path)
		}
	}
	if attempts == 0 {
		t.Fatal("no delivery attempt span")
	}

	// the log lines: the receive's request id is the attempts'
	var recvID string
	var attemptIDs []string
	for i, line := range strings.Split(strings.TrimSuffix(b.Log(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		switch m["msg"] {
		case "hl7v2 message":
			if recvID != "" {
				t.Fatalf("two hl7v2 message lines for one message")
			}
			recvID, _ = m["request_id"].(string)
			if m["trace_id"] != recv.SpanContext().TraceID().String() || m["message"] != hash || m["transport"] != "mllp" {
				t.Errorf("the receive's line: %s", line)
			}
		case "delivery attempt":
			id, _ := m["request_id"].(string)
			attemptIDs = append(attemptIDs, id)
		}
	}
	if recvID == "" || len(attemptIDs) == 0 {
		t.Fatalf("receive request_id %q, %d attempt lines:\n%s", recvID, len(attemptIDs), b.Log())
	}
	for _, id := range attemptIDs {
		if id != recvID {
			t.Errorf("a delivery attempt's request_id %q, want the receive's %q", id, recvID)
		}
	}

	// the PHI canary: the message's patient values and control id
	canaries := []string{"Canariaseis", "Alba", "MRN-HL7-1", "19850312", "1985-03-12", "961^234567", "234567", "Calle Ficticia", "46001", "SIU-0001"}
	b.NoCanary(canaries...)
	for _, s := range spans {
		texts := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			texts = append(texts, kv.Value.Emit())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, txt := range texts {
			for _, c := range canaries {
				if strings.Contains(txt, c) {
					t.Errorf("span %q carries the patient value %q", s.Name(), c)
				}
			}
		}
	}
}
