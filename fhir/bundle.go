package fhir

import (
	"errors"
	"strconv"
	"strings"
)

// Bundle is a parsed FHIR Bundle with an index for resolving references
// between its entries (FHIR R4 §2.36.4, "Resolving references in Bundles").
// It is immutable once ParseBundle returns it and safe for concurrent use.
type Bundle struct {
	// Value is the whole Bundle resource.
	Value *Value
	// Type is Bundle.type ("transaction", "batch", "collection", …); "" when
	// absent or not a string.
	Type string
	// Entries holds Bundle.entry in order.
	Entries []BundleEntry

	byURL    map[string][]int // fullUrl → entry indexes
	byTypeID map[string][]int // "Type/id" of resource or fullUrl tail → entry indexes
}

// BundleEntry is one Bundle.entry.
type BundleEntry struct {
	// Index is the 0-based position in Bundle.entry.
	Index int
	// FullURL is entry.fullUrl, or "".
	FullURL string
	// Resource is entry.resource, or nil (e.g. a transaction DELETE).
	Resource *Value
	// Method and URL are entry.request.method and entry.request.url, or "".
	Method, URL string
	// Value is the whole entry object.
	Value *Value
}

// Path returns the element path of the entry, e.g. "Bundle.entry[3]".
func (e *BundleEntry) Path() string { return "Bundle.entry[" + strconv.Itoa(e.Index) + "]" }

// ErrNotBundle is returned by ParseBundle for a value that is not a Bundle.
var ErrNotBundle = errors.New("not a Bundle resource")

// ParseBundle indexes a Bundle resource. Entries that are not objects are
// kept with empty fields, so indexes match Bundle.entry; Validate reports them.
func ParseBundle(v *Value) (*Bundle, error) {
	if v == nil || v.Kind != Object || v.ResourceType() != "Bundle" {
		return nil, ErrNotBundle
	}
	b := &Bundle{Value: v, Type: v.GetString("type"), byURL: map[string][]int{}, byTypeID: map[string][]int{}}
	entries := v.Get("entry")
	if entries == nil || entries.Kind != Array {
		return b, nil
	}
	b.Entries = make([]BundleEntry, len(entries.Items))
	for i, ev := range entries.Items {
		e := BundleEntry{Index: i, Value: ev}
		if ev != nil && ev.Kind == Object {
			e.FullURL = ev.GetString("fullUrl")
			if r := ev.Get("resource"); r != nil && r.Kind == Object {
				e.Resource = r
			}
			req := ev.Get("request")
			e.Method, e.URL = req.GetString("method"), req.GetString("url")
		}
		b.Entries[i] = e
		if e.Resource == nil {
			continue
		}
		if e.FullURL != "" {
			b.byURL[e.FullURL] = append(b.byURL[e.FullURL], i)
			if tid, ok := typeIDTail(e.FullURL); ok {
				b.byTypeID[tid] = append(b.byTypeID[tid], i)
			}
		}
		if rt, id := e.Resource.ResourceType(), e.Resource.GetString("id"); rt != "" && id != "" {
			tid := rt + "/" + id
			if !containsInt(b.byTypeID[tid], i) {
				b.byTypeID[tid] = append(b.byTypeID[tid], i)
			}
		}
	}
	return b, nil
}

func containsInt(s []int, n int) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

// Resolve returns the resource reference points to, resolved without a
// base: "urn:uuid:…", "urn:oid:…" and absolute URLs match entry fullUrls;
// relative "Type/id" matches an entry whose resource has that type and id or
// whose fullUrl ends in "/Type/id". A "/_history/v" suffix selects the entry
// with that meta.versionId when there is one. Contained "#id" references,
// conditional references ("Patient?…") and misses return nil.
func (b *Bundle) Resolve(reference string) *Value { return b.ResolveFrom("", reference) }

// ResolverFor returns a Resolver for references made by entry i: relative
// references resolve against the entry's fullUrl when it is an absolute
// RESTful URL (".../Type/id"), as FHIR requires.
func (b *Bundle) ResolverFor(i int) Resolver {
	base := ""
	if i >= 0 && i < len(b.Entries) {
		base = b.Entries[i].FullURL
	}
	return ResolverFunc(func(ref string) *Value { return b.ResolveFrom(base, ref) })
}

// ResolveFrom resolves reference made by the entry whose fullUrl is base
// (may be ""); see Resolve and ResolverFor.
func (b *Bundle) ResolveFrom(base, reference string) *Value {
	if i := b.find(base, reference); i >= 0 {
		return b.Entries[i].Resource
	}
	return nil
}

// find returns the index of the entry reference points to, or -1.
func (b *Bundle) find(base, ref string) int {
	if b == nil || ref == "" || strings.HasPrefix(ref, "#") || strings.ContainsAny(ref, "?#") {
		return -1
	}
	target, version, _ := strings.Cut(ref, "/_history/")
	var cands []int
	switch {
	case isAbsolute(target):
		cands = b.byURL[target]
	case strings.Count(target, "/") != 1:
		return -1
	default:
		if root, ok := restBase(base); ok {
			cands = b.byURL[root+target]
		} else {
			cands = b.byTypeID[target]
		}
	}
	if len(cands) == 0 {
		return -1
	}
	if version != "" {
		for _, i := range cands {
			if b.Entries[i].Resource.Get("meta").GetString("versionId") == version {
				return i
			}
		}
	}
	// Without a matching version, the last entry is the newest one.
	return cands[len(cands)-1]
}

func isAbsolute(ref string) bool {
	return strings.HasPrefix(ref, "urn:") || strings.Contains(ref, "://")
}

// restBase returns the service base of a RESTful fullUrl
// ("http://x/fhir/Patient/1" → "http://x/fhir/"), or false.
func restBase(fullURL string) (string, bool) {
	if !strings.Contains(fullURL, "://") {
		return "", false
	}
	u, _, _ := strings.Cut(fullURL, "/_history/")
	tid, ok := typeIDTail(u)
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(u, tid), true
}

// typeIDTail returns the "Type/id" at the end of a RESTful URL.
func typeIDTail(url string) (string, bool) {
	if !strings.Contains(url, "://") {
		return "", false
	}
	url, _, _ = strings.Cut(url, "/_history/")
	j := strings.LastIndexByte(url, '/')
	if j <= 0 {
		return "", false
	}
	k := strings.LastIndexByte(url[:j], '/')
	typ, id := url[k+1:j], url[j+1:]
	if typ == "" || id == "" || typ[0] < 'A' || typ[0] > 'Z' {
		return "", false
	}
	return typ + "/" + id, true
}
