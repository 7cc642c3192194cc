package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestConcurrentDuplicatesCommitOnce(t *testing.T) {
	e := newEnv(t, Options{})
	body := transactionN(4)
	const n = 8
	codes, bodies := make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := e.post("/fhir", body)
			codes[i], bodies[i] = w.Code, w.Body.String()
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 || bodies[i] != bodies[0] {
			t.Errorf("request %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if c := e.fb.commitCount(); c != 1 {
		t.Errorf("%d commits, want 1", c)
	}
}

// refusingBackend refuses with a value-free OperationOutcome.
type refusingBackend struct{ *fakeBackend }

func (refusingBackend) Commit(context.Context, *Request) (*Result, error) {
	oo := (*fhir.OperationOutcome)(nil).Add("business-rule", "Appointment.start", "start must be in the future")
	return nil, fmt.Errorf("mapping to Solo: %w: %w", ErrRefused, oo)
}

func (refusingBackend) Ready(context.Context) error { return errors.New("down") }

func TestRefusedOutcomeAndReadiness(t *testing.T) {
	e := newEnv(t, Options{})
	e.h = New(refusingBackend{e.fb}, Options{Logger: loggerTo(e.log)})
	w := e.post("/fhir/Patient", patient)
	oo := mustOutcome(t, w.Body.Bytes())
	if w.Code != 422 || oo.Issue[0].Expression[0] != "Appointment.start" {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if w := e.do("GET", "/readyz", nil); w.Code != 503 {
		t.Errorf("readyz %d", w.Code)
	}
	if w := e.do("GET", "/healthz", nil); w.Code != 200 {
		t.Errorf("healthz %d", w.Code)
	}
}

func TestTokens(t *testing.T) {
	h := HashToken("abc")
	if _, err := ParseTokenHash(string(h)); err != nil {
		t.Error(err)
	}
	if _, err := ParseTokenHash("xyz"); err == nil {
		t.Error("bad hash accepted")
	}
	// A malformed configured hash fails closed.
	e := newEnv(t, Options{Tokens: []TokenHash{"nothex"}})
	if w := e.post("/fhir/Patient", patient, "Authorization: Bearer nothex"); w.Code != 401 {
		t.Errorf("%d", w.Code)
	}
	s := NewHTTPServer(":0", e.h)
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Errorf("server not hardened: %+v", s)
	}
}
