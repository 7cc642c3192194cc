package report

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// DefaultStoreBatch is how many resources one store transaction carries.
const DefaultStoreBatch = 500

// ErrInvalid reports a mapped resource that is not valid FHIR R4; the
// error carries its element paths, never values.
var ErrInvalid = errors.New("a mapped resource is not valid FHIR R4")

// StoreSink stores resources through the FHIR endpoint's own backend
// (ingest.Backend): each resource is validated as the endpoint validates
// it (fhir.Validate), then stored by PUT with its id — a new version only
// when the content changed — and handed in the same transaction to the
// Backend's Router, which queues its deliveries like those of any update.
//
// A Patient that is already stored is left alone: the report's Patient is
// thinner than the EHR's, so it is only created when absent.
//
// Resources are committed DefaultStoreBatch (or Batch) at a time, one
// transaction each; the import is idempotent (same ids, unchanged content
// makes no version and queues nothing), so a run stopped by a store error
// is completed by running it again.
type StoreSink struct {
	Backend *ingest.Backend
	// Batch is how many resources one transaction carries (0: DefaultStoreBatch).
	Batch int

	// Stored counts resources committed (new version or unchanged),
	// PatientsKept the Patients left alone because they were stored.
	Stored, PatientsKept int

	pending []server.Entry
	ctx     context.Context // of the last Put, for Close
}

var _ Sink = (*StoreSink)(nil)

// Put validates r and queues it for the next commit.
func (s *StoreSink) Put(ctx context.Context, r *fhir.Value) error {
	s.ctx = ctx
	typ, id := r.ResourceType(), r.GetString("id")
	if oo := fhir.Validate(r, ""); oo.HasErrors() {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, typ, oo)
	}
	if typ == "Patient" {
		_, _, err := s.Backend.Read(ctx, typ, id)
		switch {
		case err == nil:
			s.PatientsKept++
			return nil
		case !errors.Is(err, server.ErrNotFound):
			return fmt.Errorf("looking up the stored Patient: %w", err)
		}
	}
	s.pending = append(s.pending, server.Entry{Method: "PUT", Type: typ, ID: id, Resource: r, Index: len(s.pending)})
	batch := s.Batch
	if batch <= 0 {
		batch = DefaultStoreBatch
	}
	if len(s.pending) >= batch {
		return s.flush(ctx)
	}
	return nil
}

func (s *StoreSink) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	if _, err := s.Backend.Commit(ctx, &server.Request{Kind: server.KindTransaction, Entries: s.pending}); err != nil {
		return fmt.Errorf("storing %d resources: %w", len(s.pending), err)
	}
	s.Stored += len(s.pending)
	s.pending = s.pending[:0]
	return nil
}

// Close commits what is pending, with the context of the last Put.
func (s *StoreSink) Close() error {
	if s.ctx == nil {
		return nil
	}
	return s.flush(s.ctx)
}
