// Package ingest is the bridge's server.Backend: it stores what the FHIR
// endpoint accepts in the durable store and, in the same transaction, hands
// every new resource version to a Router that queues its deliveries, so a
// resource is acknowledged only once it and its deliveries are durable.
package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"

	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Router queues the deliveries of one stored resource version inside the
// ingest transaction (for example one job per matching route).
type Router interface {
	Route(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value) error
}

// Backend implements server.Backend over a store.
type Backend struct {
	Store  *store.Store
	Router Router // nil: store only
	// NewID makes ids for created resources (default: random UUIDs).
	NewID func() string
	// Now, when set, stamps LastModified; by default it is when the store
	// stored the version (as vread and _history report it).
	Now func() time.Time
}

var _ server.Backend = (*Backend)(nil)

// Commit stores the entries of req atomically; see server.Backend.
func (b *Backend) Commit(ctx context.Context, req *server.Request) (_ *server.Result, err error) {
	ctx, span := tracing.Tracer().Start(ctx, "store commit", trace.WithAttributes(attribute.Int("fhirbridge.entries", len(req.Entries))))
	defer func() { tracing.End(span, err) }()
	var res *server.Result
	err = b.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if res, err = b.apply(ctx, tx, req); err != nil {
			return err
		}
		if err := logInboundHook(ctx, tx, req, res); err != nil {
			return err
		}
		if req.Key == "" || req.Response == nil {
			return nil
		}
		status, body := req.Response(res)
		if _, _, dup, err := tx.RememberRequest(ctx, req.Key, req.BodyHash, status, body); err != nil {
			return fmt.Errorf("remembering the request: %w", err)
		} else if dup {
			return server.ErrDuplicate
		}
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// apply assigns ids, resolves conditional creates, rewrites references
// between entries and stores each resource.
func (b *Backend) apply(ctx context.Context, tx *store.Tx, req *server.Request) (*server.Result, error) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	out := &server.Result{Entries: make([]server.EntryResult, len(req.Entries))}
	ids := make([]string, len(req.Entries))
	matched := make([]bool, len(req.Entries))
	refs := map[string]string{} // fullUrl → Type/id
	// claimed holds the identifiers this request claimed for conditional
	// creates (type, system, value → id won), so that indexing a created
	// resource's identifiers does not claim them a second time.
	var claimed map[[3]string]string
	type stored struct {
		typ, id string
		version int
		res     *fhir.Value
		deleted bool // res is the last live body of a deletion
	}
	var toRoute []stored // routed once every entry is stored
	for i, e := range req.Entries {
		id := e.ID
		if e.Condition != nil {
			var err error
			if id, claimed, err = b.resolve(ctx, tx, e, claimed); err != nil {
				return nil, err
			}
			ids[i] = id
			if e.FullURL != "" && id != "" {
				refs[e.FullURL] = e.Type + "/" + id
			}
			continue
		}
		if e.Method == "POST" || id == "" {
			id = b.newID()
		}
		if e.IfNoneExist != "" {
			system, value, err := identifierQuery(e.IfNoneExist)
			if err != nil {
				return nil, err
			}
			winner, err := tx.ClaimIdentifier(ctx, e.Type, system, value, id)
			if err != nil {
				return nil, fmt.Errorf("conditional create of %s: %w", e.Type, err)
			}
			matched[i] = winner != id
			id = winner
			if claimed == nil {
				claimed = map[[3]string]string{}
			}
			claimed[[3]string{e.Type, system, value}] = id
		}
		ids[i] = id
		if e.FullURL != "" {
			refs[e.FullURL] = e.Type + "/" + id
		}
	}
	for i, e := range req.Entries {
		id := ids[i]
		if e.Method == "DELETE" {
			er, last, err := deleteEntry(ctx, tx, req.Kind, &e, id)
			if err != nil {
				return nil, err
			}
			if last != nil && b.Router != nil {
				toRoute = append(toRoute, stored{e.Type, id, er.Version, last, true})
			}
			er.LastModified = now().UTC()
			out.Entries[i] = er
			continue
		}
		if matched[i] {
			_, version, err := tx.GetResource(ctx, e.Type, id)
			if err != nil {
				return nil, fmt.Errorf("reading the matched %s: %w", e.Type, err)
			}
			out.Entries[i] = server.EntryResult{ID: id, Version: version, Status: 200}
			continue
		}
		res := withID(rewrite(e.Resource, refs), id)
		version, changed, at, err := tx.PutValueIfMatch(ctx, e.Type, id, res, e.IfMatch)
		if errors.Is(err, store.ErrPreconditionFailed) {
			return nil, preconditionFailed(req.Kind, &e, err)
		}
		if err != nil {
			return nil, fmt.Errorf("storing %s: %w", e.Type, err)
		}
		// Versions count from 1: a first version just written is a create.
		existed := !(changed && version == 1)
		if changed {
			// every new version brings the identifier index in step
			// with the identifiers it holds
			if err := syncIdentifiers(ctx, tx, e.Type, id, version, res, claimed); err != nil {
				return nil, err
			}
		}
		if changed && b.Router != nil {
			toRoute = append(toRoute, stored{e.Type, id, version, res, false})
		}
		if b.Now != nil || at.IsZero() {
			at = now().UTC()
		}
		out.Entries[i] = server.EntryResult{ID: id, Version: version, Created: !existed, LastModified: at}
	}
	// Routing comes after the whole request is stored, so that a route's
	// intake check finds the resources an entry references wherever they
	// stand in the Bundle (an Appointment before its Patient).
	for _, s := range toRoute {
		var err error
		if s.deleted {
			err = b.routeDelete(ctx, tx, s.typ, s.id, s.version, s.res)
		} else {
			err = b.Router.Route(ctx, tx, s.typ, s.id, s.version, s.res)
		}
		if err != nil {
			return nil, fmt.Errorf("queueing deliveries of %s: %w", s.typ, err)
		}
	}
	return out, nil
}

// Read returns the current version of a resource.
func (b *Backend) Read(ctx context.Context, typ, id string) ([]byte, int, error) {
	body, v, err := b.Store.GetResource(ctx, typ, id)
	if err != nil {
		return nil, 0, classify(err)
	}
	return body, v, nil
}

// Seen returns the response stored under key, or an error wrapping
// server.ErrKeyReused when key was stored for a body of another hash.
func (b *Backend) Seen(ctx context.Context, key, bodyHash string) (int, []byte, bool, error) {
	status, body, err := b.Store.Request(ctx, key, bodyHash)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, classify(err)
	}
	return status, body, true, nil
}

// Ready pings the store.
func (b *Backend) Ready(ctx context.Context) error {
	if err := b.Store.DB().PingContext(ctx); err != nil {
		return fmt.Errorf("%w: store: %w", server.ErrUnavailable, err)
	}
	return nil
}

// classify maps store errors onto the server's classes.
func classify(err error) error {
	switch {
	case errors.Is(err, server.ErrDuplicate), errors.Is(err, server.ErrRefused),
		errors.Is(err, server.ErrPreconditionFailed):
		return err
	case errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("%w: %w", server.ErrUnavailable, err)
	case errors.Is(err, store.ErrKeyReused):
		return fmt.Errorf("%w: %w", server.ErrKeyReused, err)
	case errors.Is(err, store.ErrDeleted):
		return fmt.Errorf("%w: %w", server.ErrGone, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", server.ErrNotFound, err)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%w: %w", server.ErrConflict, err)
	}
	return err
}

// identifierQuery reads the If-None-Exist query the bridge supports:
// identifier=system|value, one alternative. The query is read as the
// server reads a conditional update's (server.ParseCondition): percent
// decoding, then FHIR's search escapes (\| \, \$ \\), so a conditional
// create claims the identifier the resource holds and a conditional update
// of the same identifier finds it, whatever characters it has.
func identifierQuery(q string) (system, value string, err error) {
	refuse := func(why string) error {
		return fmt.Errorf("%w: If-None-Exist supports identifier=system|value only (%s)", server.ErrRefused, why)
	}
	if !strings.HasPrefix(q, "identifier=") {
		return "", "", refuse("no identifier parameter first")
	}
	cond, err := server.ParseCondition(q)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return "", "", refuse(msg)
	}
	if len(cond.IDs) > 0 || len(cond.Identifiers) != 1 {
		return "", "", refuse("exactly one system|value, and no _id")
	}
	return cond.Identifiers[0].System, cond.Identifiers[0].Value, nil
}

func (b *Backend) newID() string {
	if b.NewID != nil {
		return b.NewID()
	}
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
