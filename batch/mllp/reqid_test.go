package mllp

import (
	"bufio"
	"context"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/logging"
)

// TestRequestIDPerMessage: the handler's context carries a request id of
// the message's own (two messages on one connection: two ids) and the
// connection id.
func TestRequestIDPerMessage(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		mu.Lock()
		ids = append(ids, logging.RequestID(ctx))
		mu.Unlock()
		if _, ok := ConnID(ctx); !ok {
			t.Errorf("no connection id in the handler's context")
		}
		return ackHandler(ctx, msg)
	})}
	addr, _, _ := testServer(t, s)
	c := dial(t, addr)
	r := NewReader(bufio.NewReader(c), 1<<20)
	for _, id := range []string{"R1", "R2"} {
		if err := WriteFrame(c, hl7msg(id)); err != nil {
			t.Fatal(err)
		}
		if code, _ := readAck(t, r); code != "AA" {
			t.Fatalf("ACK %s", code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] == "" || ids[1] == "" || ids[0] == ids[1] {
		t.Errorf("request ids %q: want two distinct ones", ids)
	}
}
