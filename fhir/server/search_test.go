package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// slotSearcher is a fake Searcher of Slots: schedule and start (twice).
func slotSearcher(calls *int, fail error) Searcher {
	return Searcher{
		Params: []SearchParam{
			{Name: "schedule", Type: "reference", Documentation: "Schedule/<id>", Required: true},
			{Name: "start", Type: "date", Documentation: "ge and lt", Required: true, Repeat: 2},
		},
		Search: func(ctx context.Context, q url.Values) ([]*fhir.Value, error) {
			*calls++
			if fail != nil {
				return nil, fail
			}
			var out []*fhir.Value
			for i := range 2 {
				s := fhir.NewObject()
				s.Set("resourceType", fhir.NewString("Slot"))
				s.Set("id", fhir.NewString(fmt.Sprintf("s%d", i)))
				ref := fhir.NewObject()
				ref.Set("reference", fhir.NewString(q.Get("schedule")))
				s.Set("schedule", ref)
				s.Set("status", fhir.NewString("free"))
				s.Set("start", fhir.NewString("2024-05-01T09:00:00Z"))
				s.Set("end", fhir.NewString("2024-05-01T09:15:00Z"))
				out = append(out, s)
			}
			return out, nil
		},
	}
}

func TestSearch(t *testing.T) {
	const ok = "/fhir/Slot?schedule=Schedule/r1&start=ge2024-05-01&start=lt2024-05-02"
	tests := []struct {
		name      string
		method    string
		path      string
		fail      error
		headers   []string
		strict    bool // Prefer: handling=strict
		want      int
		wantCalls int
		wantText  string
	}{
		{name: "match", method: "GET", path: ok, want: 200, wantCalls: 1},
		{name: "unknown param strict", method: "GET", path: ok + "&name=Smith", strict: true, want: 400, wantText: "supports: schedule, start"},
		{name: "unknown param lenient", method: "GET", path: ok + "&name=Smith", want: 200, wantCalls: 1, wantText: "unknown search parameter ignored: name"},
		{name: "missing required", method: "GET", path: "/fhir/Slot?start=ge2024-05-01", want: 400, wantText: "schedule is required"},
		{name: "too many", method: "GET", path: ok + "&start=le2024-06-01", want: 400, wantText: "at most 2"},
		{name: "empty value", method: "GET", path: "/fhir/Slot?schedule=&start=ge2024-05-01", want: 400, wantText: "empty value"},
		{name: "malformed query", method: "GET", path: "/fhir/Slot?schedule=%zz", want: 400},
		{name: "searcher refuses", method: "GET", path: ok, fail: fmt.Errorf("parsing start: %w", ErrInvalidSearch), want: 400, wantCalls: 1, wantText: "cannot be used"},
		{name: "searcher refuses with outcome", method: "GET", path: ok,
			fail: fmt.Errorf("%w: %w", ErrInvalidSearch, (*fhir.OperationOutcome)(nil).Add(fhir.CodeValue, "", "window too wide")),
			want: 400, wantCalls: 1, wantText: "window too wide"},
		{name: "vendor down", method: "GET", path: ok, fail: fmt.Errorf("asking: %w", ErrUnavailable), want: 503, wantCalls: 1},
		{name: "deadline", method: "GET", path: ok, fail: context.DeadlineExceeded, want: 503, wantCalls: 1},
		{name: "other error", method: "GET", path: ok, fail: errors.New("Smith exploded"), want: 500, wantCalls: 1},
		{name: "unknown type", method: "GET", path: "/fhir/Foo?x=1", want: 404},
		{name: "known type without searcher", method: "GET", path: "/fhir/Patient?name=x", want: 405},
		{name: "no create on a search-only type", method: "POST", path: "/fhir/Slot", want: 404},
		{name: "token required", method: "GET", path: ok, headers: []string{"Authorization: Bearer wrong"}, want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			opt := Options{Searches: map[string]Searcher{"Slot": slotSearcher(&calls, tt.fail)}}
			if len(tt.headers) > 0 {
				opt.Tokens = []TokenHash{HashToken("right")}
			}
			e := newEnv(t, opt)
			headers := tt.headers
			if tt.strict {
				headers = append(headers, "Prefer: handling=strict")
			}
			w := e.do(tt.method, tt.path, nil, headers...)
			if w.Code != tt.want || calls != tt.wantCalls {
				t.Fatalf("%d after %d calls, want %d after %d: %s", w.Code, calls, tt.want, tt.wantCalls, w.Body)
			}
			v, err := fhir.Decode(w.Body.Bytes(), fhir.DecodeOptions{})
			if err != nil {
				t.Fatalf("body: %v", err)
			}
			if oo := fhir.Validate(v, ""); oo.HasErrors() {
				t.Fatalf("invalid response: %v\n%s", oo, w.Body)
			}
			if tt.want != 200 && v.ResourceType() != "OperationOutcome" {
				t.Errorf("error body is a %s", v.ResourceType())
			}
			if !strings.Contains(w.Body.String(), tt.wantText) {
				t.Errorf("body lacks %q: %s", tt.wantText, w.Body)
			}
			for _, leak := range []string{"Smith", "exploded"} {
				if strings.Contains(w.Body.String(), leak) || strings.Contains(e.log.String(), leak) {
					t.Errorf("a request value or error text leaked (%q)", leak)
				}
			}
		})
	}
}

func TestSearchBundle(t *testing.T) {
	calls := 0
	e := newEnv(t, Options{Searches: map[string]Searcher{"Slot": slotSearcher(&calls, nil)}})
	w := e.do("GET", "/fhir/Slot?schedule=Schedule/r1&start=ge2024-05-01", nil)
	var b struct {
		ResourceType, Type string
		Total              int
		Link               []struct{ Relation, URL string }
		Entry              []struct {
			FullURL  string
			Resource struct{ ResourceType, ID string }
			Search   struct{ Mode string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total != 2 || len(b.Entry) != 2 {
		t.Fatalf("bundle %+v", b)
	}
	if b.Entry[1].FullURL != "http://example.com/fhir/Slot/s1" || b.Entry[1].Search.Mode != "match" {
		t.Errorf("entry %+v", b.Entry[1])
	}
	if len(b.Link) != 1 || b.Link[0].Relation != "self" || !strings.HasPrefix(b.Link[0].URL, "http://example.com/fhir/Slot?") {
		t.Errorf("links %+v", b.Link)
	}
	if m := e.metricsText(t); !strings.Contains(m, `fhirbridge_http_requests_total{code="200",route="search"} 1`) {
		t.Errorf("metrics lack the search route")
	}
}

func TestCapabilityStatementListsSearches(t *testing.T) {
	calls := 0
	s := slotSearcher(&calls, nil)
	e := newEnv(t, Options{Types: []string{"Patient", "Appointment"},
		Searches: map[string]Searcher{"Slot": s, "Appointment": s}})
	w := e.do("GET", "/fhir/metadata", nil)
	v, err := fhir.Decode(w.Body.Bytes(), fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oo := fhir.Validate(v, ""); oo.HasErrors() {
		t.Fatalf("invalid CapabilityStatement: %v", oo)
	}
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type        string
				Interaction []struct{ Code string }
				SearchParam []struct{ Name, Type, Documentation string }
			}
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range cs.Rest[0].Resource {
		var codes, params []string
		for _, in := range r.Interaction {
			codes = append(codes, in.Code)
		}
		for _, p := range r.SearchParam {
			params = append(params, p.Name+":"+p.Type)
		}
		got[r.Type] = strings.Join(codes, ",") + " | " + strings.Join(params, ",")
	}
	want := map[string]string{
		"Patient":     "read,update,delete,create | ",
		"Appointment": "read,update,delete,create,search-type | schedule:reference,start:date",
		"Slot":        "search-type | schedule:reference,start:date",
	}
	for typ, w := range want {
		if got[typ] != w {
			t.Errorf("%s: %q, want %q", typ, got[typ], w)
		}
	}
}

func TestParseDateParam(t *testing.T) {
	utc := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	tests := []struct {
		in       string
		prefix   string
		lo, hi   string
		from, to string
		bad      bool
	}{
		{in: "2024", prefix: "eq", lo: "2024-01-01T00:00:00Z", hi: "2025-01-01T00:00:00Z", from: "2024-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z"},
		{in: "ge2024-05", prefix: "ge", lo: "2024-05-01T00:00:00Z", hi: "2024-06-01T00:00:00Z", from: "2024-05-01T00:00:00Z"},
		{in: "lt2024-05-02", prefix: "lt", lo: "2024-05-02T00:00:00Z", hi: "2024-05-03T00:00:00Z", to: "2024-05-02T00:00:00Z"},
		{in: "gt2024-05-02", prefix: "gt", lo: "2024-05-02T00:00:00Z", hi: "2024-05-03T00:00:00Z", from: "2024-05-03T00:00:00Z"},
		{in: "le2024-05-02T10:00+02:00", prefix: "le", lo: "2024-05-02T08:00:00Z", hi: "2024-05-02T08:01:00Z", to: "2024-05-02T08:01:00Z"},
		{in: "2024-05-02T10:00:30Z", prefix: "eq", lo: "2024-05-02T10:00:30Z", hi: "2024-05-02T10:00:31Z", from: "2024-05-02T10:00:30Z", to: "2024-05-02T10:00:31Z"},
		{in: "ge2024-05-02T10:00:30.5Z", prefix: "ge", lo: "2024-05-02T10:00:30.5Z", hi: "2024-05-02T10:00:30.6Z", from: "2024-05-02T10:00:30.5Z"},
		{in: "2024-05-02T10:00:30", bad: true}, // no zone
		{in: "2024-13-01", bad: true},
		{in: "yesterday", bad: true},
		{in: "ge", bad: true},
	}
	for _, tt := range tests {
		p, err := ParseDateParam(tt.in, nil)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: accepted", tt.in)
			} else if strings.Contains(err.Error(), tt.in) {
				t.Errorf("%s: the error quotes the value", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if p.Prefix != tt.prefix || !p.Lo.Equal(utc(tt.lo)) || !p.Hi.Equal(utc(tt.hi)) {
			t.Errorf("%s: %+v", tt.in, p)
		}
		from, to, ok := p.Bounds()
		if !ok || !from.Equal(utc(tt.from)) || !to.Equal(utc(tt.to)) {
			t.Errorf("%s: bounds %v %v %v", tt.in, from, to, ok)
		}
	}
	if _, _, ok := (DateParam{Prefix: "ne"}).Bounds(); ok {
		t.Errorf("ne has one interval")
	}
}

func FuzzParseDateParam(f *testing.F) {
	for _, s := range []string{"ge2024-05-01", "2024", "lt2024-05-02T10:00:30.123+02:00", "sa2024-05", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseDateParam(s, time.UTC)
		if err != nil {
			return
		}
		if !p.Hi.After(p.Lo) {
			t.Fatalf("%q: empty interval %+v", s, p)
		}
	})
}
