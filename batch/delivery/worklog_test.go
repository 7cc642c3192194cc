package delivery

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestEnqueueWorkKeepsRequestID: EnqueueWork stores the enqueuing
// context's request id with the job, and the attempt at it runs with that
// request id in its context; every line its Work logs on Work.Log, with a
// context or without, names the request, job, flow, vendor and attempt.
func TestEnqueueWorkKeepsRequestID(t *testing.T) {
	tests := []struct {
		name, requestID string
	}{
		{"with a request id", "req-work-1"},
		{"without one", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuf
			log, err := logging.New(&buf, "json", "info")
			if err != nil {
				t.Fatal(err)
			}
			type seen struct{ requestID string }
			got := make(chan seen, 1)
			flows := map[string]Flow{"w/a": {Vendor: "wv", Work: func(ctx context.Context, w Work) error {
				w.Log.Info("work without context")
				w.Log.InfoContext(ctx, "work with context")
				got <- seen{logging.RequestID(ctx)}
				return nil
			}}}
			p := openReplica(t, storeURL(t), flows, Options{Logger: log}, nil)
			ctx := context.Background()
			if tc.requestID != "" {
				ctx = logging.WithRequestID(ctx, tc.requestID)
			}
			err = p.st.InTx(ctx, func(tx *store.Tx) error {
				_, err := EnqueueWork(ctx, tx, WorkJob{Flow: "w/a", Kind: "test", Key: "k1"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := p.st.DB().QueryRowContext(ctx, p.st.Rebind(`SELECT request_id FROM delivery_jobs WHERE flow = ? AND resource_id = ?`),
				"w/a", "k1").Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored != tc.requestID {
				t.Errorf("stored request_id %q, want %q", stored, tc.requestID)
			}
			p.start()
			var s seen
			select {
			case s = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("the job was not worked within 10 s")
			}
			p.stop()
			if s.requestID != tc.requestID {
				t.Errorf("Work's context has request id %q, want %q", s.requestID, tc.requestID)
			}
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				if m["msg"] != "work without context" && m["msg"] != "work with context" {
					continue
				}
				n++
				rid, _ := m["request_id"].(string)
				if rid != tc.requestID {
					t.Errorf("request_id %q, want %q: %s", rid, tc.requestID, line)
				}
				if m["flow"] != "w/a" || m["vendor"] != "wv" || m["attempt"] != 1.0 || m["job"] == nil {
					t.Errorf("line lacks the job's ids: %s", line)
				}
			}
			if n != 2 {
				t.Errorf("%d Work lines logged, want 2:\n%s", n, buf.String())
			}
		})
	}
}
