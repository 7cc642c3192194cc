package export

import (
	"context"
	"errors"
	"sync"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// resolverCacheSize bounds the resources a StoreResolver keeps decoded;
// when full the cache is emptied, so memory stays flat over any export.
const resolverCacheSize = 4096

// StoreResolver resolves the references of stored resources ("Type/id",
// or an absolute URL ending in Type/id, with or without /_history/n) to the
// current version in the store, as a mapping's resolve() needs during an
// export. Practitioners and Locations recur on many Appointments, so
// decoded resources are cached (up to a few thousand, then the cache is
// emptied). Contained (#id) and urn: references resolve to nothing.
//
// A missing resource resolves to nothing, as FHIRPath's resolve() expects;
// any other store failure also resolves to nothing but is kept, and Err
// returns the first: an export checks it so that a store outage never
// turns into rows refused for a missing practitioner. Safe for concurrent
// use.
type StoreResolver struct {
	ctx   context.Context
	st    *store.Store
	mu    sync.Mutex
	cache map[string]*fhir.Value // "Type/id" → decoded, or nil when missing
	err   error
}

var _ fhir.Resolver = (*StoreResolver)(nil)

// NewStoreResolver returns a StoreResolver reading st under ctx.
func NewStoreResolver(ctx context.Context, st *store.Store) *StoreResolver {
	return &StoreResolver{ctx: ctx, st: st, cache: make(map[string]*fhir.Value)}
}

// Resolve implements fhir.Resolver.
func (r *StoreResolver) Resolve(ref string) *fhir.Value {
	typ, id := fhir.SplitReference(ref)
	if typ == "" {
		return nil
	}
	key := typ + "/" + id
	r.mu.Lock()
	v, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return v
	}
	body, _, err := r.st.GetResource(r.ctx, typ, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		r.fail(err)
		return nil
	default:
		v, err = fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			r.fail(errors.New("stored " + key + " is not readable JSON"))
			return nil
		}
	}
	r.mu.Lock()
	if len(r.cache) >= resolverCacheSize {
		clear(r.cache)
	}
	r.cache[key] = v
	r.mu.Unlock()
	return v
}

// Err returns the first store failure met by Resolve, or nil.
func (r *StoreResolver) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *StoreResolver) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}
