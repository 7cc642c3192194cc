package search

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// fixture is the store content of the search tests: six types, with
// names that differ in accents and case, partial birth dates, a start in
// another zone, an open Encounter period, and resources missing the
// searched element.
var fixture = []string{
	`{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:mrn","value":"MRN1"}],"name":[{"family":"Müller","given":["Anna"]}],"gender":"female","birthDate":"1980-05-17"}`,
	`{"resourceType":"Patient","id":"p2","identifier":[{"system":"urn:mrn","value":"MRN2"},{"system":"urn:other","value":"MRN1"}],"name":[{"family":"Muller","given":["Bob"]}],"gender":"male","birthDate":"1980-05"}`,
	`{"resourceType":"Patient","id":"p3","identifier":[{"value":"MRN3"}],"name":[{"family":"Smith","given":["Zoë"]}],"gender":"female","birthDate":"1975"}`,
	`{"resourceType":"Patient","id":"p4","name":[{"text":"Jane Doe","family":"Doe"}],"gender":"unknown"}`,
	`{"resourceType":"Practitioner","id":"pr1","identifier":[{"system":"urn:npi","value":"111"}],"name":[{"family":"House","given":["Gregory"]}]}`,
	`{"resourceType":"Practitioner","id":"pr2","identifier":[{"system":"urn:npi","value":"222"}],"name":[{"family":"Wilson"}]}`,
	`{"resourceType":"Location","id":"l1","identifier":[{"system":"urn:site","value":"S1"}],"name":"Main Clinic","alias":["Hauptklinik"]}`,
	`{"resourceType":"Location","id":"l2","name":"Annex"}`,
	`{"resourceType":"Organization","id":"o1","identifier":[{"system":"urn:org","value":"O1"}],"name":"Acme Health"}`,
	`{"resourceType":"Organization","id":"o2","name":"Beta Care","alias":["Acme Partner"]}`,
	`{"resourceType":"Appointment","id":"a1","identifier":[{"system":"urn:appt","value":"A1"}],"status":"booked","start":"2024-05-01T09:00:00Z","participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"Practitioner/pr1"}},{"actor":{"reference":"Location/l1"}}]}`,
	`{"resourceType":"Appointment","id":"a2","status":"cancelled","start":"2024-05-02T10:00:00+02:00","participant":[{"actor":{"reference":"Patient/p2"}},{"actor":{"reference":"Practitioner/pr2"}}]}`,
	`{"resourceType":"Appointment","id":"a3","status":"booked","start":"2024-06-01T09:00:00Z","participant":[{"actor":{"reference":"https://ehr.example/fhir/Patient/p1"}},{"actor":{"reference":"Location/l2"}}]}`,
	`{"resourceType":"Appointment","id":"a4","status":"proposed","participant":[{"actor":{"reference":"Patient/p3"}}]}`,
	`{"resourceType":"Encounter","id":"e1","status":"finished","period":{"start":"2024-05-01T09:00:00Z","end":"2024-05-01T10:00:00Z"},"subject":{"reference":"Patient/p1"},"appointment":[{"reference":"Appointment/a1"}]}`,
	`{"resourceType":"Encounter","id":"e2","status":"in-progress","period":{"start":"2024-05-02T08:00:00Z"},"subject":{"reference":"Patient/p2"},"appointment":[{"reference":"Appointment/a2"}]}`,
	`{"resourceType":"Encounter","id":"e3","status":"planned","subject":{"reference":"Patient/p3"}}`,
	// A NUL in a name is stored but not indexed (PostgreSQL text refuses it).
	`{"resourceType":"Organization","id":"o3","name":"Nul\u0000Org","identifier":[{"system":"urn:org","value":"O3"}]}`,
	// A name whose folding is 18 times longer: its index key is cut to a
	// size PostgreSQL can index.
	`{"resourceType":"Organization","id":"o4","name":"` + strings.Repeat("\uFDFA", 170) + `"}`,
}

// put stores resources (FHIR JSON) in st.
func put(t testing.TB, st *store.Store, resources ...string) {
	t.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for _, s := range resources {
			v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			if _, _, err := tx.PutValue(ctx, v.ResourceType(), v.GetString("id"), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testNow is the clock of run, from which the ap prefix measures.
var testNow = time.Date(2024, 5, 11, 0, 0, 0, 0, time.UTC)

// run searches typ with query (a URL query string) on st and returns the
// ids of the matches in order, following next links.
func run(t *testing.T, st *store.Store, typ, query string) ([]string, error) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	req := server.SearchRequest{Params: url.Values{}, Count: server.DefaultCount, Sort: q.Get("_sort")}
	for k, v := range q {
		if k != "_sort" {
			req.Params[k] = v
		}
	}
	s := &searcher{idx: st, typ: typ, now: func() time.Time { return testNow }}
	var ids []string
	for range 100 {
		page, err := s.query(context.Background(), req)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Matches {
			ids = append(ids, m.GetString("id"))
		}
		if page.Next == "" {
			return ids, nil
		}
		req.Cursor = page.Next
	}
	t.Fatal("more than 100 pages")
	return nil, nil
}

func TestSearchParams(t *testing.T) {
	tests := []struct {
		typ, query string
		want       []string // in order
	}{
		{"Patient", "_id=p1,p3", []string{"p1", "p3"}},
		{"Patient", "identifier=urn:mrn|MRN1", []string{"p1"}},
		{"Patient", "identifier=MRN1", []string{"p1", "p2"}},
		{"Patient", "identifier=|MRN3", []string{"p3"}},
		{"Patient", "identifier=|MRN1", nil},
		{"Patient", "identifier=urn:mrn|", []string{"p1", "p2"}},
		{"Patient", "identifier:not=urn:mrn|MRN1", []string{"p2", "p3", "p4"}},
		{"Patient", "identifier:missing=true", []string{"p4"}},
		{"Patient", "birthdate=1980-05-17", []string{"p1"}},
		{"Patient", "birthdate=eq1980-05", []string{"p1", "p2"}},
		{"Patient", "birthdate=1980", []string{"p1", "p2"}},
		{"Patient", "birthdate=ne1980", []string{"p3"}},
		{"Patient", "birthdate=ge1980-05-17", []string{"p1", "p2"}},
		{"Patient", "birthdate=gt1980-05-17", []string{"p2"}},
		{"Patient", "birthdate=gt1975", []string{"p1", "p2"}},
		{"Patient", "birthdate=lt1980", []string{"p3"}},
		{"Patient", "birthdate=lt1980-05-17", []string{"p2", "p3"}},
		{"Patient", "birthdate=le1975", []string{"p3"}},
		{"Patient", "birthdate=le1980-05-17", []string{"p1", "p2", "p3"}},
		{"Patient", "birthdate=sa1979", []string{"p1", "p2"}},
		{"Patient", "birthdate=eb1980", []string{"p3"}},
		{"Patient", "birthdate=ge1980&birthdate=lt1981", []string{"p1", "p2"}},
		// ap, measured from testNow (2024-05-11): ±10% of the gap,
		// at least a day for a value without a time.
		{"Patient", "birthdate=ap1984", []string{"p1", "p2"}},             // gap 39.4 y: 1980-01-24 to 1988-12-08
		{"Patient", "birthdate=ap1980-05-17", []string{"p1", "p2", "p3"}}, // gap 44 y: from 1975-12-23
		{"Patient", "birthdate=ap1990", nil},                              // gap 33.4 y: from 1986-08-31
		{"Patient", "_lastUpdated=ap2000", nil},
		{"Patient", "birthdate:missing=true", []string{"p4"}},
		{"Patient", "birthdate:missing=false", []string{"p1", "p2", "p3"}},
		{"Patient", "gender=female", []string{"p1", "p3"}},
		{"Patient", "gender=http://hl7.org/fhir/administrative-gender|male", []string{"p2"}},
		{"Patient", "gender=female,unknown", []string{"p1", "p3", "p4"}},
		{"Patient", "name=mull", []string{"p1", "p2"}},
		{"Patient", "name=MÜL", []string{"p1", "p2"}},
		{"Patient", "name=zoe", []string{"p3"}},
		{"Patient", "name=jane", []string{"p4"}},
		{"Patient", "name:exact=Müller", []string{"p1"}},
		{"Patient", "name:exact=muller", nil},
		{"Patient", "name:contains=LLE", []string{"p1", "p2"}},
		{"Patient", "family=anna", nil},
		{"Patient", "family=doe", []string{"p4"}},
		{"Patient", "family=mul&gender=male", []string{"p2"}},
		{"Patient", "_lastUpdated=ge2000-01-01", []string{"p1", "p2", "p3", "p4"}},
		{"Patient", "_lastUpdated=lt2000-01-01", nil},
		{"Appointment", "date=2024-05-01", []string{"a1"}},
		{"Appointment", "date=2024-05-02T08:00:00Z", []string{"a2"}},
		{"Appointment", "date=ge2024-05-02", []string{"a2", "a3"}},
		{"Appointment", "date=lt2024-05-02", []string{"a1"}},
		{"Appointment", "date=ne2024-05", []string{"a3"}},
		{"Appointment", "date=ap2024-05-01", []string{"a1", "a2"}},           // floor: 04-30 to 05-03
		{"Appointment", "date=ap2024-05-01T06:00:00Z", []string{"a1"}},       // 23.4 h: to 05-02T05:24
		{"Appointment", "date=ap2024-05-01T12:00:00Z", []string{"a1", "a2"}}, // 22.8 h: to 05-02T10:48
		{"Appointment", "date=ap2024-06-03", []string{"a3"}},                 // 2.3 d: from 05-31T16:48
		{"Appointment", "date=ap2024-06-05", nil},                            // 2.5 d: from 06-02T12:00
		{"Appointment", "date=ap2024-06", []string{"a3"}},
		{"Appointment", "date:missing=true", []string{"a4"}},
		{"Appointment", "status=booked", []string{"a1", "a3"}},
		{"Appointment", "status=booked,proposed", []string{"a1", "a3", "a4"}},
		{"Appointment", "status:not=booked", []string{"a2", "a4"}},
		{"Appointment", "patient=Patient/p1", []string{"a1", "a3"}},
		{"Appointment", "patient=p3", []string{"a4"}},
		{"Appointment", "patient:Patient=p2", []string{"a2"}},
		{"Appointment", "practitioner=pr2", []string{"a2"}},
		{"Appointment", "practitioner=Practitioner/pr1", []string{"a1"}},
		{"Appointment", "location=Location/l1", []string{"a1"}},
		{"Appointment", "location=l2", []string{"a3"}},
		{"Appointment", "identifier=urn:appt|A1", []string{"a1"}},
		{"Appointment", "_sort=date", []string{"a1", "a2", "a3", "a4"}},
		{"Appointment", "_sort=-date", []string{"a3", "a2", "a1", "a4"}},
		{"Appointment", "status=booked&_sort=-date", []string{"a3", "a1"}},
		{"Encounter", "date=2024-05-01", []string{"e1"}},
		{"Encounter", "date=2024-05", []string{"e1"}},
		{"Encounter", "date=ge2024-05-03", []string{"e2"}},
		{"Encounter", "date=lt2024-05-02", []string{"e1"}},
		{"Encounter", "date=sa2024-05-01", []string{"e2"}},
		{"Encounter", "date=eb2024-05-02", []string{"e1"}},
		{"Encounter", "date=ap2024-05-10", []string{"e2"}}, // now at the end: the floor, 05-09 to 05-12; e2 is open
		{"Encounter", "date=ap2024-05-01T09:30:00Z", []string{"e1", "e2"}},
		{"Encounter", "status=finished", []string{"e1"}},
		{"Encounter", "patient=p2", []string{"e2"}},
		{"Encounter", "appointment=Appointment/a1", []string{"e1"}},
		{"Encounter", "identifier:missing=true", []string{"e1", "e2", "e3"}},
		{"Practitioner", "name=hou", []string{"pr1"}},
		{"Practitioner", "name=greg", []string{"pr1"}},
		{"Practitioner", "identifier=urn:npi|222", []string{"pr2"}},
		{"Location", "name=haupt", []string{"l1"}},
		{"Location", "name=ann", []string{"l2"}},
		{"Location", "identifier=S1", []string{"l1"}},
		{"Organization", "name=acme", []string{"o1", "o2"}},
		{"Organization", "name:exact=Acme Health", []string{"o1"}},
		{"Organization", "identifier=urn:org|O1", []string{"o1"}},
		{"Organization", "identifier=urn:org|O3", []string{"o3"}},
		{"Organization", "name:missing=true", []string{"o3"}},
		{"Organization", "name=%D8%B5%D9%84%D9%89", []string{"o4"}},
	}
	storetest.Each(t, "search_params", func(t *testing.T, st *store.Store) {
		put(t, st, fixture...)
		for _, tt := range tests {
			got, err := run(t, st, tt.typ, tt.query)
			if err != nil {
				t.Errorf("%s?%s: %v", tt.typ, tt.query, err)
				continue
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s?%s = %v, want %v", tt.typ, tt.query, got, tt.want)
			}
		}
	})
}

func TestSearchInvalid(t *testing.T) {
	tests := []struct{ typ, query, wantText string }{
		{"Patient", "birthdate=ap1980-13", "a date is"},
		{"Patient", "birthdate=ap", "a date is"},
		{"Patient", "birthdate=xx1980", "unknown prefix"},
		{"Patient", "birthdate=1980-13", "a date is"},
		{"Patient", "birthdate=2024-05-01T10:00:00", "with a zone"},
		{"Patient", "family:foo=x", "string parameters take"},
		{"Patient", "gender:exact=female", "token parameters take"},
		{"Patient", "identifier=a|b|c", "a token is"},
		{"Patient", "name:missing=maybe", "true or false"},
		{"Patient", "_id=not valid!", "not a FHIR id"},
		{"Patient", "family=" + strings.Repeat("x", 513), "longer than 512"},
		{"Patient", "family=" + strings.Repeat("x,", 101), "more than 100"},
		{"Appointment", "patient=Practitioner/pr1", "must reference a Patient"},
		{"Patient", "family=a%00b", "NUL"},
		{"Patient", "family=%FF", "not UTF-8"},
		{"Appointment", "date=2024-05-01&_sort=date&_cursor=bm9wZQ", "_cursor"},
	}
	st := storetest.Open(t, fixture...)
	for _, tt := range tests {
		_, err := run(t, st, tt.typ, tt.query)
		if !errors.Is(err, server.ErrInvalidSearch) || !strings.Contains(err.Error(), tt.wantText) {
			t.Errorf("%s?%.40s: %v, want ErrInvalidSearch saying %q", tt.typ, tt.query, err, tt.wantText)
		}
		if err != nil && (strings.Contains(err.Error(), "1980") || strings.Contains(err.Error(), "xxxx") || strings.Contains(err.Error(), "female")) {
			t.Errorf("%s?%.40s: the error quotes the value: %v", tt.typ, tt.query, err)
		}
	}
}

func TestApprox(t *testing.T) {
	now := time.Date(2024, 5, 11, 0, 0, 0, 0, time.UTC)
	at := func(s string) int64 {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnixMicro()
	}
	tests := []struct {
		name           string
		lo, hi         string
		dateOnly       bool
		wantLo, wantHi string
	}{
		{"past time: 10% of the gap", "2024-05-01T00:00:00Z", "2024-05-01T00:00:01Z", false, "2024-04-30T00:00:00.1Z", "2024-05-02T00:00:00.9Z"},
		{"future time", "2024-06-10T00:00:00Z", "2024-06-10T00:00:01Z", false, "2024-06-07T00:00:00Z", "2024-06-13T00:00:01Z"},
		{"now inside: no margin", "2024-05-10T23:00:00Z", "2024-05-11T01:00:00Z", false, "2024-05-10T23:00:00Z", "2024-05-11T01:00:00Z"},
		{"now inside a day: the floor", "2024-05-11T00:00:00Z", "2024-05-12T00:00:00Z", true, "2024-05-10T00:00:00Z", "2024-05-13T00:00:00Z"},
		{"yesterday: the floor beats 10%", "2024-05-10T00:00:00Z", "2024-05-11T00:00:00Z", true, "2024-05-09T00:00:00Z", "2024-05-12T00:00:00Z"},
		{"a day 30 days ago", "2024-04-10T00:00:00Z", "2024-04-11T00:00:00Z", true, "2024-04-07T00:00:00Z", "2024-04-14T00:00:00Z"},
	}
	for _, tt := range tests {
		lo, hi := Approx(at(tt.lo), at(tt.hi), tt.dateOnly, now)
		if lo != at(tt.wantLo) || hi != at(tt.wantHi) {
			t.Errorf("%s: [%s, %s), want [%s, %s)", tt.name,
				time.UnixMicro(lo).UTC().Format(time.RFC3339Nano), time.UnixMicro(hi).UTC().Format(time.RFC3339Nano), tt.wantLo, tt.wantHi)
		}
	}
}
