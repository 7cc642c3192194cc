package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/store"
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
// An Encounter carrying the visit identifier (Visit.System, the vendor's
// own visit id) is matched on it: stored again under the id that already
// holds the identifier, else under the mapping's id, else under an id
// derived from the visit id. Importing the same report twice therefore
// writes no new Encounter and, the content being unchanged, no new version,
// whatever ids the mapping gives.
//
// Resources are committed DefaultStoreBatch (or Batch) at a time, one
// transaction each; the import is idempotent (same ids, unchanged content
// makes no version and queues nothing), so a run stopped by a store error
// is completed by running it again.
type StoreSink struct {
	Backend *ingest.Backend
	// Batch is how many resources one transaction carries (0: DefaultStoreBatch).
	Batch int
	// Visit identifies the same visit across imports; zero: no matching.
	Visit VisitKey

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
	if typ == "Encounter" && s.Visit.System != "" {
		var err error
		if id, err = s.visitID(ctx, r, id); err != nil {
			return err
		}
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

// VisitKey names the identifier that carries a vendor's own visit id, and
// the prefix of the Encounter ids derived from it.
type VisitKey struct {
	// System is the identifier system of the visit id.
	System string
	// Prefix starts a derived Encounter id (prefix + visit id).
	Prefix string
}

// SoloVisit is Solo's visit key: the ids solo/encounter and
// solo/encounter-report give ("solo-visit-<appointmentId>").
var SoloVisit = VisitKey{System: "urn:fhirbridge:solo:id", Prefix: "solo-visit-"}

// visitID returns the id to store Encounter r under: the stored Encounter
// holding its visit identifier, else id (the mapping's), else one derived
// from the visit id. An Encounter without the identifier keeps id.
func (s *StoreSink) visitID(ctx context.Context, r *fhir.Value, id string) (string, error) {
	visit := identifierValue(r, s.Visit.System)
	if visit == "" {
		return id, nil
	}
	var found string
	err := s.Backend.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		found, err = tx.FindByIdentifier(ctx, "Encounter", s.Visit.System, visit)
		return err
	})
	switch {
	case err == nil:
		return found, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("looking up the stored Encounter of the visit: %w", err)
	case id != "":
		return id, nil
	}
	return derivedID(s.Visit.Prefix, visit), nil
}

// identifierValue is the value of r's first identifier of system.
func identifierValue(r *fhir.Value, system string) string {
	ids := r.Get("identifier")
	if ids == nil || ids.Kind != fhir.Array {
		return ""
	}
	for _, ident := range ids.Items {
		if ident.GetString("system") == system {
			return ident.GetString("value")
		}
	}
	return ""
}

// derivedID is prefix+visit when that is a FHIR id, else prefix and a
// hash of the visit id (deterministic, so a re-import finds it again).
func derivedID(prefix, visit string) string {
	if id := prefix + visit; fhir.ValidID(id) {
		return id
	}
	if len(prefix) > 32 {
		prefix = prefix[:32]
	}
	sum := sha256.Sum256([]byte(visit))
	return prefix + hex.EncodeToString(sum[:])[:64-len(prefix)]
}
