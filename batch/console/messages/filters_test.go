package messages

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseFilters(t *testing.T) {
	for _, c := range []struct {
		query, err string
	}{
		{"", ""},
		{"resource=Patient/p1&status=dlq&since=2026-04-01T08:00&until=2026-04-02T08:00", ""},
		{"since=2026-04-01", "since must be"},
		{"until=tomorrow", "until must be"},
		{"after=1.x", "after"},
		{"direction=up", "direction"},
		{"since=2026-04-02T08:00&until=2026-04-01T08:00", "not before"},
		{"vendor_id=" + strings.Repeat("v", maxParam+1), "vendor_id is longer"},
	} {
		v, _ := url.ParseQuery(c.query)
		_, q, err := parseFilters(v)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v, want %q", c.query, err, c.err)
		}
		if err == nil && q.Limit != pageSize {
			t.Errorf("%q: limit %d", c.query, q.Limit)
		}
	}
}

// FuzzParseFilters: the list's query string is hostile input; whatever it
// holds, parsing answers without panicking and an accepted query passes
// the store's own check. (Its errors are fixed texts naming the
// parameter, never the value typed.)
func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{"", "resource=Patient/p1", "since=2026-04-01T08:00&after=1.2", "identifier=a|b", "after=x", "status=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		_, q, err := parseFilters(v)
		if err != nil {
			return
		}
		if err := q.Check(); err != nil {
			t.Fatalf("accepted a query the store refuses: %v", err)
		}
	})
}
