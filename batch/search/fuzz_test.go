package search

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/searchindex"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// FuzzParseSearch: parsing any query string and any cursor never panics;
// a refusal wraps server.ErrInvalidSearch and does not quote a value;
// an accepted query stays within the store's bounds.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		"family=mul&birthdate=ge1980-05&birthdate=lt1981",
		"identifier=urn:mrn|MRN1,|X,Y&identifier:not=a\\|b",
		"name:exact=M%C3%BCller&name:contains=ll&gender:missing=true",
		"date=sa2024-05-01T09:00:00.123%2B02:00&status=booked&patient=Patient/p1",
		"_id=a,b,c&_lastUpdated=eb2026&practitioner:Practitioner=x",
		"date=ap2024&patient=Practitioner/x&_id=%00",
	} {
		f.Add(s, "eyJzIjoiZGF0ZSIsImsiOjEsImkiOiJhIn0")
	}
	f.Fuzz(func(t *testing.T, query, cur string) {
		if len(query) > 4096 {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		for _, typ := range searchindex.Types() {
			iq, err := Parse(typ, q)
			if err != nil {
				if !errors.Is(err, server.ErrInvalidSearch) {
					t.Fatalf("%s: error not ErrInvalidSearch: %v", typ, err)
				}
				for _, vals := range q {
					for _, v := range vals {
						if len(v) >= 8 && strings.ContainsAny(v, "~^#@") && strings.Contains(err.Error(), v) {
							t.Fatalf("%s: error quotes a value: %v", typ, err)
						}
					}
				}
				continue
			}
			if iq.Type != typ || len(iq.IDs) > 100 {
				t.Fatalf("%s: query out of bounds: %+v", typ, iq)
			}
			for _, c := range iq.Conds {
				if len(c.Any) > 100 {
					t.Fatalf("%s: %d values", typ, len(c.Any))
				}
			}
		}
		for _, sort := range []string{"", "date", "-_lastUpdated"} {
			c, total, err := DecodeCursor(cur, sort)
			if err != nil {
				if !errors.Is(err, server.ErrInvalidSearch) {
					t.Fatalf("cursor error not ErrInvalidSearch: %v", err)
				}
				continue
			}
			if back, btotal, err := DecodeCursor(EncodeCursor(sort, c, total), sort); err != nil || back != c || btotal != total {
				t.Fatalf("cursor round trip: %+v -> %+v (%v)", c, back, err)
			}
		}
	})
}
