package server

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/prometheus/client_golang/prometheus"
)

// versionedFake is a fakeBackend that keeps every version, honours
// Entry.IfMatch and implements Versioned. Each commit stamps its versions
// one minute after the previous commit.
type versionedFake struct {
	*fakeBackend
	mu       sync.Mutex
	versions map[string][]Version // "Type/id" → versions, oldest first
	clock    time.Time
}

var _ Versioned = (*versionedFake)(nil)

func newVersionedFake() *versionedFake {
	return &versionedFake{fakeBackend: newFake(), versions: map[string][]Version{},
		clock: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
}

// newVersionedEnv is newEnv over a versionedFake.
func newVersionedEnv(opt Options) (*env, *versionedFake) {
	vf := newVersionedFake()
	e := &env{fb: vf.fakeBackend, log: &syncBuffer{}, reg: prometheus.NewRegistry()}
	opt.Logger = loggerTo(e.log)
	opt.Registry = e.reg
	e.h = New(vf, opt)
	return e, vf
}

func (v *versionedFake) Commit(ctx context.Context, req *Request) (*Result, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range req.Entries {
		if e.IfMatch > 0 && len(v.versions[e.Type+"/"+e.ID]) != e.IfMatch {
			where, text := "", "If-Match header: stale version"
			if req.Kind != KindSingle {
				where, text = "Bundle.entry["+strconv.Itoa(e.Index)+"].request.ifMatch", "stale version"
			}
			oo := (*fhir.OperationOutcome)(nil).Add("conflict", where, text)
			return nil, fmt.Errorf("fake commit: %w: %w", ErrPreconditionFailed, oo)
		}
	}
	res, err := v.fakeBackend.Commit(ctx, req)
	if err != nil {
		return nil, err
	}
	v.clock = v.clock.Add(time.Minute)
	for i := range res.Entries {
		er := &res.Entries[i]
		key := req.Entries[i].Type + "/" + er.ID
		if er.Version <= len(v.versions[key]) {
			continue // a conditional create that matched
		}
		er.LastModified = v.clock
		body := representation(req.Entries[i].Resource, er).JSON()
		v.versions[key] = append(v.versions[key], Version{ID: er.ID, Version: er.Version, Body: body, LastUpdated: v.clock})
	}
	return res, nil
}

func (v *versionedFake) ReadVersion(_ context.Context, typ, id string, version int) (*Version, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vs := v.versions[typ+"/"+id]
	if version == 0 {
		version = len(vs)
	}
	if version < 1 || version > len(vs) {
		return nil, fmt.Errorf("fake read version: %w", ErrNotFound)
	}
	out := vs[version-1]
	return &out, nil
}

func (v *versionedFake) History(_ context.Context, q HistoryQuery) ([]Version, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var all []Version
	for key, vs := range v.versions {
		typ, id, _ := strings.Cut(key, "/")
		if typ == q.Type && (q.ID == "" || id == q.ID) {
			all = append(all, vs...)
		}
	}
	if q.ID != "" && len(all) == 0 {
		return nil, fmt.Errorf("fake history: %w", ErrNotFound)
	}
	// newer reports whether a comes before b in history order.
	newer := func(a, b *Version) bool {
		if !a.LastUpdated.Equal(b.LastUpdated) {
			return a.LastUpdated.After(b.LastUpdated)
		}
		if a.ID != b.ID {
			return a.ID > b.ID
		}
		return a.Version > b.Version
	}
	sort.Slice(all, func(i, j int) bool { return newer(&all[i], &all[j]) })
	var out []Version
	for i := range all {
		a := &all[i]
		if a.LastUpdated.Before(q.Since) || q.After != nil && !newer(q.After, a) {
			continue
		}
		if len(out) == q.Count {
			break
		}
		out = append(out, *a)
	}
	return out, nil
}
