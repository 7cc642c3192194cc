package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// A committed transaction is one inbound message: its kind names the
// source, it is found by its Bundle.identifier value (kept only as a
// hash) and by the resources it stored, which it lists with versions.
func TestCommitLogsInboundMessage(t *testing.T) {
	srv, st, _ := newBridge(t)
	bundle := `{"resourceType":"Bundle","type":"transaction","identifier":{"system":"urn:x","value":"BNDL-CANARY-5"},"entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"CANARY"}]},"request":{"method":"POST","url":"Patient"}},
{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2"}}]}`
	if code, resp := post(t, srv.URL+"/fhir", bundle); code != 200 {
		t.Fatalf("status %d: %v", code, resp)
	}
	ctx := context.Background()
	msgs, _, err := st.SearchMessages(ctx, store.MessageQuery{Identifier: "BNDL-CANARY-5"})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages by identifier: %d (%v), want 1", len(msgs), err)
	}
	m := msgs[0]
	if m.Direction != store.In || m.Kind != "fhir.transaction" || m.Status != store.StatusAccepted || m.Body != nil {
		t.Errorf("message %+v", m)
	}
	res, err := st.MessageResources(ctx, m.ID)
	if err != nil || len(res) != 2 || res[1] != (store.MessageResource{Type: "Patient", ID: "p2", Version: 1}) {
		t.Errorf("resources %v (%v)", res, err)
	}
	if byRes, _, err := st.SearchMessages(ctx, store.MessageQuery{ResourceID: "p2"}); err != nil || len(byRes) != 1 || byRes[0].ID != m.ID {
		t.Errorf("messages by resource: %v (%v)", byRes, err)
	}
	if got := inboundKind(&server.Request{Kind: "batch", Source: "hl7v2"}); got != "hl7v2.batch" {
		t.Errorf("inboundKind = %q", got)
	}
}

// BenchmarkCommitLogged measures what the message log adds to a commit:
// 10-entry transactions (one Patient, nine Appointments) into SQLite,
// with the log row and its resource rows, and without.
//
//	go test -run '^$' -bench BenchmarkCommitLogged -benchtime 2000x ./batch/ingest/
func BenchmarkCommitLogged(b *testing.B) {
	for _, logged := range []bool{true, false} {
		name := "logged"
		if !logged {
			name = "unlogged"
		}
		b.Run(name, func(b *testing.B) {
			if !logged {
				saved := logInboundHook
				logInboundHook = func(context.Context, *store.Tx, *server.Request, *server.Result) error { return nil }
				defer func() { logInboundHook = saved }()
			}
			st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "b.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			be := &Backend{Store: st}
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				req := &server.Request{Kind: server.KindTransaction, Key: fmt.Sprintf("identifier:urn:x|b%09d", i)}
				p, err := fhir.Decode([]byte(`{"resourceType":"Patient","name":[{"family":"X"}]}`), fhir.DecodeOptions{})
				if err != nil {
					b.Fatal(err)
				}
				req.Entries = append(req.Entries, server.Entry{Method: "POST", Type: "Patient", Resource: p})
				for range 9 {
					a, err := fhir.Decode([]byte(`{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}]}`), fhir.DecodeOptions{})
					if err != nil {
						b.Fatal(err)
					}
					req.Entries = append(req.Entries, server.Entry{Method: "POST", Type: "Appointment", Resource: a})
				}
				if _, err := be.Commit(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
		})
	}
}
