package search

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// pagingFixture is 23 Appointments whose starts repeat (ties) and are
// sometimes absent, for paging in every sort.
func pagingFixture() []string {
	var out []string
	for i := range 23 {
		start := ""
		if i%5 != 4 {
			start = fmt.Sprintf(`,"start":"2024-05-%02dT09:00:00Z"`, 1+(i*7)%6)
		}
		out = append(out, fmt.Sprintf(`{"resourceType":"Appointment","id":"a%02d","status":"booked"%s,"participant":[{"actor":{"reference":"Patient/p%d"}}]}`, i, start, i%3))
	}
	return out
}

func TestSearchPaging(t *testing.T) {
	storetest.Each(t, "search_paging", func(t *testing.T, st *store.Store) {
		put(t, st, pagingFixture()...)
		s := &searcher{idx: st, typ: "Appointment"}
		for _, sort := range []string{"", "date", "-date", "_lastUpdated", "-_lastUpdated"} {
			all, err := run(t, st, "Appointment", "status=booked&_sort="+sort)
			if err != nil || len(all) != 23 {
				t.Fatalf("sort %q in one page: %d (%v), want 23", sort, len(all), err)
			}
			req := server.SearchRequest{Params: url.Values{"status": {"booked"}}, Count: 5, Sort: sort}
			var paged []string
			pages := 0
			for {
				page, err := s.query(context.Background(), req)
				if err != nil {
					t.Fatalf("sort %q page %d: %v", sort, pages, err)
				}
				pages++
				if page.Total != 23 || len(page.Matches) > 5 {
					t.Fatalf("sort %q page %d: total %d, %d matches", sort, pages, page.Total, len(page.Matches))
				}
				for _, m := range page.Matches {
					paged = append(paged, m.GetString("id"))
				}
				if page.Next == "" {
					break
				}
				req.Cursor = page.Next
			}
			if pages != 5 || !slices.Equal(paged, all) {
				t.Errorf("sort %q: %d pages %v, want 5 pages in the order of one page %v", sort, pages, paged, all)
			}
		}
		// A cursor of one sort is refused by another.
		page, err := s.query(context.Background(), server.SearchRequest{Params: url.Values{}, Count: 5, Sort: "date"})
		if err != nil || page.Next == "" {
			t.Fatal(page.Next, err)
		}
		if _, err := s.query(context.Background(), server.SearchRequest{Params: url.Values{}, Count: 5, Sort: "-date", Cursor: page.Next}); err == nil {
			t.Error("a date cursor was accepted for -date")
		}
	})
}

func TestSearchIncludeAndCount(t *testing.T) {
	storetest.Each(t, "search_include", func(t *testing.T, st *store.Store) {
		put(t, st, fixture...)
		s := &searcher{idx: st, typ: "Appointment"}
		page, err := s.query(context.Background(), server.SearchRequest{
			Params: url.Values{"status": {"booked,cancelled"}}, Count: 50, Include: []string{includePatient}})
		if err != nil {
			t.Fatal(err)
		}
		var inc []string
		for _, v := range page.Included {
			inc = append(inc, v.ResourceType()+"/"+v.GetString("id"))
		}
		slices.Sort(inc)
		if want := []string{"Patient/p1", "Patient/p2"}; !slices.Equal(inc, want) {
			t.Errorf("included %v, want %v (p1 once although two Appointments name it)", inc, want)
		}
		page, err = s.query(context.Background(), server.SearchRequest{Params: url.Values{"status": {"booked"}}, SummaryCount: true})
		if err != nil || page.Total != 2 || len(page.Matches) != 0 {
			t.Errorf("_summary=count: total %d, %d matches (%v), want 2 and none", page.Total, len(page.Matches), err)
		}
	})
}

// noBackend is a server.Backend for a server that only searches.
type noBackend struct{}

func (noBackend) Commit(context.Context, *server.Request) (*server.Result, error) {
	return nil, fmt.Errorf("not used")
}
func (noBackend) Read(context.Context, string, string) ([]byte, int, error) {
	return nil, 0, fmt.Errorf("not used")
}
func (noBackend) Seen(context.Context, string, string) (int, []byte, bool, error) {
	return 0, nil, false, nil
}
func (noBackend) Ready(context.Context) error { return nil }

// bundle is the part of a searchset Bundle the HTTP tests read.
type bundle struct {
	ResourceType string
	Total        int
	Link         []struct{ Relation, URL string }
	Entry        []struct {
		Resource struct {
			ResourceType, ID string
			Issue            []struct{ Severity, Code, Diagnostics string }
		}
		Search struct{ Mode string }
	}
}

func TestSearchHTTP(t *testing.T) {
	storetest.Each(t, "search_http", func(t *testing.T, st *store.Store) {
		put(t, st, fixture...)
		var logs strings.Builder
		h := server.New(noBackend{}, server.Options{Searches: Searchers(st),
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		srv := httptest.NewServer(h)
		defer srv.Close()
		get := func(path string, headers ...string) (int, bundle, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", path, nil)
			if !strings.HasPrefix(path, "http") {
				req, _ = http.NewRequest("GET", srv.URL+path, nil)
			}
			for _, hd := range headers {
				k, v, _ := strings.Cut(hd, ": ")
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var b bundle
			_ = json.Unmarshal(body, &b)
			return resp.StatusCode, b, string(body)
		}

		// Paging through next links, one Patient per page.
		var ids []string
		next := "/fhir/Patient?name=mul&_count=1"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("more pages than matches")
			}
			code, b, body := get(next)
			if code != 200 || b.Total != 2 {
				t.Fatalf("%s: %d total %d: %s", next, code, b.Total, body)
			}
			next = ""
			for _, l := range b.Link {
				if l.Relation == "next" {
					next = l.URL
				}
			}
			for _, e := range b.Entry {
				ids = append(ids, e.Resource.ID)
			}
		}
		if !slices.Equal(ids, []string{"p1", "p2"}) {
			t.Errorf("paged ids %v, want p1 p2", ids)
		}

		// Lenient (default): the unknown name is ignored and reported.
		code, b, body := get("/fhir/Patient?gender=female&shoe-size=QQ4711ZZ")
		if code != 200 || b.Total != 2 || len(b.Entry) != 3 || b.Entry[2].Search.Mode != "outcome" ||
			!strings.Contains(b.Entry[2].Resource.Issue[0].Diagnostics, "shoe-size") || strings.Contains(body, "QQ4711ZZ") {
			t.Errorf("lenient unknown parameter: %d %s", code, body)
		}
		// Strict: 400.
		if code, _, body := get("/fhir/Patient?gender=female&shoe-size=QQ4711ZZ", "Prefer: handling=strict"); code != 400 || strings.Contains(body, "QQ4711ZZ") {
			t.Errorf("strict unknown parameter: %d %s", code, body)
		}
		// _summary=count, _count=0.
		for _, q := range []string{"_summary=count", "_count=0"} {
			if code, b, body := get("/fhir/Appointment?status=booked&" + q); code != 200 || b.Total != 2 || len(b.Entry) != 0 {
				t.Errorf("%s: %d %s", q, code, body)
			}
		}
		// _include of the Appointment's patient.
		code, b, body = get("/fhir/Appointment?_id=a1&_include=Appointment:patient")
		if code != 200 || len(b.Entry) != 2 || b.Entry[1].Search.Mode != "include" || b.Entry[1].Resource.ID != "p1" {
			t.Errorf("_include: %d %s", code, body)
		}
		// _sort.
		code, b, body = get("/fhir/Appointment?_sort=-date&_count=2")
		if code != 200 || len(b.Entry) != 2 || b.Entry[0].Resource.ID != "a3" || b.Entry[1].Resource.ID != "a2" {
			t.Errorf("_sort=-date: %d %s", code, body)
		}
		// ap is answered (the table of TestSearchParams checks what it finds).
		if code, _, body := get("/fhir/Patient?birthdate=ap1999"); code != 200 {
			t.Errorf("ap: %d %s", code, body)
		}
		// Bad values: 400 naming the parameter, not the value.
		for _, q := range []string{"/fhir/Patient?birthdate=ap1999-13", "/fhir/Patient?_sort=birthdate", "/fhir/Patient?_count=x1999", "/fhir/Patient?_include=Patient:x1999"} {
			if code, _, body := get(q); code != 400 || strings.Contains(body, "1999") {
				t.Errorf("%s: %d %s", q, code, body)
			}
		}
		// The CapabilityStatement advertises the parameters.
		_, _, cs := get("/fhir/metadata")
		for _, want := range []string{`"name":"birthdate"`, `"name":"practitioner"`, `"name":"_lastUpdated"`, `"searchInclude":["Appointment:patient"]`, "-_lastUpdated", "ap (10% of the gap to now)"} {
			if !strings.Contains(cs, want) {
				t.Errorf("CapabilityStatement lacks %s", want)
			}
		}
		for _, leak := range []string{"Müller", "MRN", "x1999", "QQ4711ZZ"} {
			if strings.Contains(logs.String(), leak) {
				t.Errorf("the log holds a request or patient value (%q)", leak)
			}
		}
	})
}
