package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// querySearcher is a fake paged Searcher of Patients: it records the
// request it got and answers two matches, one included resource and a
// next cursor "c2" on the first page.
func querySearcher(got *SearchRequest) Searcher {
	return Searcher{
		Params: []SearchParam{{Name: "family", Type: "string", Repeat: 2}, {Name: "birthdate", Type: "date", Repeat: 2}},
		Sorts:  []string{"_lastUpdated"}, Includes: []string{"Patient:link"},
		Query: func(ctx context.Context, req SearchRequest) (SearchPage, error) {
			*got = req
			res := func(typ, id string) *fhir.Value {
				v := fhir.NewObject()
				v.Set("resourceType", fhir.NewString(typ))
				v.Set("id", fhir.NewString(id))
				return v
			}
			page := SearchPage{Total: 3}
			if req.SummaryCount {
				return page, nil
			}
			page.Matches = []*fhir.Value{res("Patient", "p1"), res("Patient", "p2")}
			page.Included = []*fhir.Value{res("Patient", "p9")}
			if req.Cursor == "" {
				page.Next = "c2"
			}
			return page, nil
		},
	}
}

func TestSearchQuery(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		strict  bool
		want    int
		wantReq SearchRequest // Params compared by their names
		names   []string
		text    string
	}{
		{name: "defaults", query: "family=smi", want: 200, wantReq: SearchRequest{Count: DefaultCount}, names: []string{"family"}},
		{name: "modifier kept", query: "family:exact=Smi&birthdate=ge2000&birthdate=lt2001", want: 200, wantReq: SearchRequest{Count: DefaultCount}, names: []string{"birthdate", "family:exact"}},
		{name: "count", query: "_count=7", want: 200, wantReq: SearchRequest{Count: 7}},
		{name: "count clamped", query: "_count=5000", want: 200, wantReq: SearchRequest{Count: MaxCount}},
		{name: "count zero", query: "_count=0", want: 200, wantReq: SearchRequest{SummaryCount: true}},
		{name: "summary count", query: "_summary=count&_count=9", want: 200, wantReq: SearchRequest{SummaryCount: true}},
		{name: "sort", query: "_sort=-_lastUpdated", want: 200, wantReq: SearchRequest{Count: DefaultCount, Sort: "-_lastUpdated"}},
		{name: "include", query: "_include=Patient:link", want: 200, wantReq: SearchRequest{Count: DefaultCount, Include: []string{"Patient:link"}}},
		{name: "cursor", query: "_cursor=c2", want: 200, wantReq: SearchRequest{Count: DefaultCount, Cursor: "c2"}},
		{name: "lenient unknown", query: "family=x&foo=1&_elements=id", want: 200, wantReq: SearchRequest{Count: DefaultCount}, names: []string{"family"}, text: "ignored: _elements"},
		{name: "strict unknown", query: "family=x&foo=1", strict: true, want: 400, text: "supports: birthdate, family"},
		{name: "general parameters", query: "family=x&_format=json&_pretty=true", strict: true, want: 200, wantReq: SearchRequest{Count: DefaultCount}, names: []string{"family"}},
		{name: "xml", query: "family=x&_format=xml", want: 406, text: "only JSON is served"},
		{name: "bad pretty", query: "_pretty=yes", want: 400, text: "_pretty is true or false"},
		{name: "too many of one name", query: "family=a&family:exact=b&family=c", want: 400, text: "at most 2"},
		{name: "bad count", query: "_count=-1", want: 400, text: "_count must be a whole number"},
		{name: "two counts", query: "_count=1&_count=2", want: 400, text: "at most once"},
		{name: "bad sort", query: "_sort=family", want: 400, text: "_sort supports: _lastUpdated, -_lastUpdated"},
		{name: "bad summary", query: "_summary=true", want: 400, text: "_summary supports count"},
		{name: "bad include", query: "_include=Patient:organization", want: 400, text: "_include supports: Patient:link"},
		{name: "too many parameters", query: strings.Repeat("a=1&", 30) + strings.Repeat("b", 1) + "=1&" + func() string {
			var b strings.Builder
			for i := range 70 {
				b.WriteString("p" + strings.Repeat("x", i) + "=1&")
			}
			return b.String()
		}(), want: 400, text: "more than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got SearchRequest
			e := newEnv(t, Options{Searches: map[string]Searcher{"Patient": querySearcher(&got)}})
			var headers []string
			if tt.strict {
				headers = append(headers, "Prefer: return=minimal, handling=strict")
			}
			w := e.do("GET", "/fhir/Patient?"+tt.query, nil, headers...)
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.text) {
				t.Fatalf("%d, want %d with %q: %s", w.Code, tt.want, tt.text, w.Body)
			}
			if tt.want != 200 {
				return
			}
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range got.Params {
					if !yield(k) {
						return
					}
				}
			})
			gotReq := got
			gotReq.Params = nil
			if !slices.Equal(names, tt.names) || gotReq.Count != tt.wantReq.Count || gotReq.Sort != tt.wantReq.Sort ||
				gotReq.Cursor != tt.wantReq.Cursor || gotReq.SummaryCount != tt.wantReq.SummaryCount || !slices.Equal(gotReq.Include, tt.wantReq.Include) {
				t.Errorf("request %+v %v, want %+v %v", gotReq, names, tt.wantReq, tt.names)
			}
		})
	}
}

func TestSearchQueryBundle(t *testing.T) {
	var got SearchRequest
	e := newEnv(t, Options{Searches: map[string]Searcher{"Patient": querySearcher(&got)}})
	w := e.do("GET", "/fhir/Patient?family=smi&_count=2&_sort=_lastUpdated&zz=1", nil)
	var b struct {
		Total int
		Link  []struct{ Relation, URL string }
		Entry []struct {
			Resource struct{ ResourceType, ID string }
			Search   struct{ Mode string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != 200 {
		t.Fatalf("%d %v: %s", w.Code, err, w.Body)
	}
	var modes []string
	for _, en := range b.Entry {
		modes = append(modes, en.Resource.ID+":"+en.Search.Mode)
	}
	if want := []string{"p1:match", "p2:match", "p9:include", ":outcome"}; !slices.Equal(modes, want) || b.Total != 3 {
		t.Errorf("entries %v total %d, want %v total 3", modes, b.Total, want)
	}
	if len(b.Link) != 2 || b.Link[1].Relation != "next" {
		t.Fatalf("links %+v", b.Link)
	}
	next, _ := url.Parse(b.Link[1].URL)
	if q := next.Query(); q.Get("_cursor") != "c2" || q.Get("family") != "smi" || q.Get("_count") != "2" || q.Get("_sort") != "_lastUpdated" || q.Has("zz") {
		t.Errorf("next link %s: want the kept parameters and _cursor=c2, without the ignored one", b.Link[1].URL)
	}
	w = e.do("GET", b.Link[1].URL, nil)
	if w.Code != 200 || got.Cursor != "c2" || strings.Contains(w.Body.String(), `"next"`) {
		t.Errorf("following next: %d cursor %q: %s", w.Code, got.Cursor, w.Body)
	}
	// The CapabilityStatement tells the paging, sorts and includes.
	cs := e.do("GET", "/fhir/metadata", nil).Body.String()
	for _, want := range []string{`"searchInclude":["Patient:link"]`, "_sort: _lastUpdated, -_lastUpdated", "handling=strict", `"code":"search-type"`} {
		if !strings.Contains(cs, want) {
			t.Errorf("CapabilityStatement lacks %s", want)
		}
	}
}

// FuzzSearchQuery: any query string and Prefer header on a paged search
// is answered 200, or 400 or 406 with an OperationOutcome, never 5xx or a
// panic.
func FuzzSearchQuery(f *testing.F) {
	f.Add("family=smi&_count=2&_sort=-_lastUpdated&_include=Patient:link&x=1", "handling=strict")
	f.Add("_summary=count&_cursor=abc&family:exact=%C3%BC", "handling=lenient")
	f.Add("%zz&&=&_count=99999999999999999999", "")
	var got SearchRequest
	e := newEnv(f, Options{Searches: map[string]Searcher{"Patient": querySearcher(&got)}})
	f.Fuzz(func(t *testing.T, query, prefer string) {
		if len(query) > 8192 || len(prefer) > 1024 {
			return
		}
		r := httptest.NewRequest("GET", "/fhir/Patient", nil)
		r.URL.RawQuery = query
		r.Header.Set("Prefer", prefer)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 && w.Code != 406 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var v struct{ ResourceType string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || (w.Code != 200) != (v.ResourceType == "OperationOutcome") {
			t.Fatalf("status %d with %q (%v)", w.Code, v.ResourceType, err)
		}
	})
}
