package ingest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

var _ server.Versioned = (*Backend)(nil)

// preconditionFailed is the error of entry e, of a request of kind, whose
// If-Match (entry.request.ifMatch in a Bundle) did not name the current
// version: server.ErrPreconditionFailed with an OperationOutcome pointing
// at the header or the entry, naming no value.
func preconditionFailed(kind string, e *server.Entry, err error) error {
	where, text := "", "If-Match header"
	if kind != server.KindSingle {
		where = "Bundle.entry[" + strconv.Itoa(e.Index) + "].request.ifMatch"
		text = "request.ifMatch"
	}
	oo := (*fhir.OperationOutcome)(nil).Add("conflict", where,
		text+": the "+e.Type+" is not at this version (another client changed it, or it does not exist); "+
			"nothing was stored: read it again and retry")
	return fmt.Errorf("%w: %w: %w", server.ErrPreconditionFailed, oo, err)
}

// ReadVersion returns a version of a resource, or its current version
// when version is 0; see server.Versioned.
func (b *Backend) ReadVersion(ctx context.Context, typ, id string, version int) (*server.Version, error) {
	v, err := b.Store.ReadVersion(ctx, typ, id, version)
	if err != nil {
		return nil, classify(err)
	}
	return &server.Version{ID: v.ID, Version: v.Version.Version, Body: v.Body, LastUpdated: v.At}, nil
}

// History returns one page of the versions of a resource, or of every
// resource of a type, newest first; see server.Versioned.
func (b *Backend) History(ctx context.Context, q server.HistoryQuery) ([]server.Version, error) {
	sq := store.HistoryQuery{Type: q.Type, ID: q.ID, Since: q.Since, Limit: q.Count}
	if a := q.After; a != nil {
		sq.After = &store.StoredVersion{ID: a.ID, Version: store.Version{Version: a.Version, At: a.LastUpdated}}
	}
	page, err := b.Store.HistoryPage(ctx, sq)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]server.Version, len(page))
	for i, v := range page {
		out[i] = server.Version{ID: v.ID, Version: v.Version.Version, Body: v.Body, LastUpdated: v.At, Deleted: v.Deleted}
	}
	return out, nil
}
