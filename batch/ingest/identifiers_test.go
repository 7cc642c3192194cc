package ingest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// identPatient is a Patient (with id when not "") holding the identifiers
// given as system|value, named family so that bodies differ.
func identPatient(id, family string, idents ...string) string {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Patient",`)
	if id != "" {
		b.WriteString(`"id":"` + id + `",`)
	}
	b.WriteString(`"identifier":[`)
	for i, s := range idents {
		sys, val, _ := strings.Cut(s, "|")
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"system":"` + sys + `","value":"` + val + `"}`)
	}
	b.WriteString(`],"name":[{"family":"` + family + `"}]}`)
	return b.String()
}

// TestIdentifiersOfLaterVersions, on SQLite and PostgreSQL: an identifier
// that a later version adds finds the resource (conditional update,
// create and delete), one that a version removes finds it no more and
// can go to another resource, and one that another live resource holds
// stays that resource's (first claim wins).
func TestIdentifiersOfLaterVersions(t *testing.T) {
	storetest.Each(t, "ingest_ident_versions", func(t *testing.T, st *store.Store) {
		srv := httptest.NewServer(server.New(&Backend{Store: st, Router: &deleteRouted{}}, server.Options{}))
		defer srv.Close()
		base := srv.URL + "/fhir/Patient"
		ids := map[string]string{} // names of the test → ids the server made
		steps := []struct {
			name, method, path, body string
			hdr                      []string
			wantCode                 int
			wantID                   string // a name: "" for none, bound on first sight
			wantCount                int    // live Patients after the step
		}{
			{"v1 with the placer number", "POST", "", identPatient("", "A", "urn:placer|P1"), nil, 201, "x", 1},
			{"v2 adds the filler number", "PUT", "/{x}", identPatient("{x}", "B", "urn:placer|P1", "urn:filler|F1"), nil, 200, "x", 1},
			{"conditional update by the added identifier", "PUT", "?identifier=urn:filler|F1", identPatient("", "C", "urn:placer|P1", "urn:filler|F1"), nil, 200, "x", 1},
			{"conditional create with it matches", "POST", "", identPatient("", "D", "urn:filler|F1"), []string{"If-None-Exist", "identifier=urn:filler|F1"}, 200, "x", 1},
			{"the placer number still matches", "PUT", "?identifier=urn:placer|P1", identPatient("", "E", "urn:placer|P1", "urn:filler|F1"), nil, 200, "x", 1},
			{"a version drops the filler number", "PUT", "/{x}", identPatient("{x}", "F", "urn:placer|P1"), nil, 200, "x", 1},
			{"the dropped identifier matches nothing: a new resource", "PUT", "?identifier=urn:filler|F1", identPatient("", "G", "urn:filler|F1"), nil, 201, "y", 2},
			{"and it now finds the new one", "POST", "", identPatient("", "H", "urn:filler|F1"), []string{"If-None-Exist", "identifier=urn:filler|F1"}, 200, "y", 2},
			{"a version adding an identifier another resource holds is stored", "PUT", "/{x}", identPatient("{x}", "I", "urn:placer|P1", "urn:filler|F1"), nil, 200, "x", 2},
			{"first claim wins: the identifier still finds the other", "PUT", "?identifier=urn:filler|F1", identPatient("", "J", "urn:filler|F1"), nil, 200, "y", 2},
			{"conditional delete by an added identifier", "PUT", "/{y}", identPatient("{y}", "K", "urn:filler|F1", "urn:visit|V9"), nil, 200, "y", 2},
			{"deletes that resource", "DELETE", "?identifier=urn:visit|V9", "", nil, 204, "", 1},
			{"a deleted holder's identifier is taken over by the next version holding it", "PUT", "/{x}", identPatient("{x}", "L", "urn:placer|P1", "urn:filler|F1"), nil, 200, "x", 1},
			{"which it then finds", "PUT", "?identifier=urn:filler|F1", identPatient("", "M", "urn:placer|P1", "urn:filler|F1"), nil, 200, "x", 1},
			// If-None-Exist is read as a conditional update's query: percent
			// decoding, then FHIR's escapes, so both find one identifier
			{"conditional create of an identifier with | , space and +", "POST", "", identPatient("", "N", "urn:mrn|MRN|77 +1,2"), []string{"If-None-Exist", `identifier=urn:mrn|MRN\|77%20%2B1\,2`}, 201, "z", 2},
			{"conditional update by it finds that resource", "PUT", `?identifier=urn:mrn|MRN\|77%20%2B1\,2`, identPatient("", "O", "urn:mrn|MRN|77 +1,2"), nil, 200, "z", 2},
			{"and conditional create by it matches", "POST", "", identPatient("", "P", "urn:mrn|MRN|77 +1,2"), []string{"If-None-Exist", `identifier=urn:mrn|MRN\|77%20%2B1\,2`}, 200, "z", 2},
			{"If-None-Exist with two alternatives is refused", "POST", "", identPatient("", "Q", "urn:mrn|A"), []string{"If-None-Exist", "identifier=urn:mrn|A,urn:mrn|B"}, 422, "", 2},
			{"If-None-Exist by _id is refused", "POST", "", identPatient("", "R", "urn:mrn|A"), []string{"If-None-Exist", "_id=abc"}, 422, "", 2},
		}
		fill := func(s string) string {
			for k, v := range ids {
				s = strings.ReplaceAll(s, "{"+k+"}", v)
			}
			return s
		}
		for _, s := range steps {
			code, _, got := do(t, s.method, base+fill(s.path), fill(s.body), s.hdr...)
			if code != s.wantCode {
				t.Fatalf("%s: %d, want %d", s.name, code, s.wantCode)
			}
			if s.wantID != "" {
				if want, ok := ids[s.wantID]; !ok {
					for k, v := range ids {
						if v == got {
							t.Fatalf("%s: id %q is %s's, want a new one", s.name, got, k)
						}
					}
					ids[s.wantID] = got
				} else if got != want {
					t.Fatalf("%s: id %q, want %s (%q)", s.name, got, s.wantID, want)
				}
			}
			if n, err := st.CountCurrent(context.Background(), "Patient"); err != nil || n != s.wantCount {
				t.Fatalf("%s: %d live patients (%v), want %d", s.name, n, err, s.wantCount)
			}
		}
	})
}

// TestIdentifierAddedRace, on SQLite and PostgreSQL: once a version has
// added an identifier, racing conditional updates and creates by it all
// answer that resource and make nothing new; racing with the update that
// adds it, they leave one holder of it, which every one of them answers
// (a new resource only when one of them claimed it before the update).
func TestIdentifierAddedRace(t *testing.T) {
	storetest.Each(t, "ingest_ident_race", func(t *testing.T, st *store.Store) {
		srv := httptest.NewServer(server.New(&Backend{Store: st, Router: &deleteRouted{}}, server.Options{}))
		defer srv.Close()
		base := srv.URL + "/fhir/Patient"
		ctx := context.Background()
		code, _, x := do(t, "POST", base, identPatient("", "A", "urn:placer|P1"))
		if code != 201 {
			t.Fatalf("POST: %d", code)
		}
		const n = 6
		// race sends n conditional updates and creates by ident at once,
		// with adding (when not nil) racing them; it returns their
		// answers.
		race := func(round, ident string, adding func()) ([]int, []string) {
			codes, got := make([]int, n), make([]string, n)
			var wg sync.WaitGroup
			if adding != nil {
				wg.Go(adding)
			}
			for i := range n {
				wg.Go(func() {
					family := fmt.Sprintf("%s%d", round, i) // distinct bodies: no request replay
					if i%2 == 0 {
						codes[i], _, got[i] = do(t, "PUT", base+"?identifier="+ident, identPatient("", family, ident))
					} else {
						codes[i], _, got[i] = do(t, "POST", base, identPatient("", family, ident), "If-None-Exist", "identifier="+ident)
					}
				})
			}
			wg.Wait()
			return codes, got
		}
		count := func() int {
			c, err := st.CountCurrent(ctx, "Patient")
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		// Added first, then raced: every request finds x.
		if code, _, _ := do(t, "PUT", base+"/"+x, identPatient(x, "B", "urn:placer|P1", "urn:filler|F1")); code != 200 {
			t.Fatalf("the update adding the identifier: %d", code)
		}
		codes, got := race("R", "urn:filler|F1", nil)
		for i := range n {
			if codes[i] != 200 || got[i] != x {
				t.Errorf("request %d: %d %q, want 200 %q", i, codes[i], got[i], x)
			}
		}
		if c := count(); c != 1 {
			t.Errorf("%d live patients, want 1", c)
		}

		// Raced with the update adding it: one holder, whom all answer.
		codes, got = race("S", "urn:filler|G1", func() {
			if code, _, _ := do(t, "PUT", base+"/"+x, identPatient(x, "C", "urn:placer|P1", "urn:filler|F1", "urn:filler|G1")); code != 200 {
				t.Errorf("the update adding the second identifier: %d", code)
			}
		})
		var holder string
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			holder, err = tx.FindByIdentifier(ctx, "Patient", "urn:filler", "G1")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if (codes[i] != 200 && codes[i] != 201) || got[i] != holder {
				t.Errorf("raced request %d: %d %q, want 200 or 201 with the holder %q", i, codes[i], got[i], holder)
			}
		}
		want := 1
		if holder != x {
			want = 2 // a conditional request claimed it before the update
		}
		if c := count(); c != want {
			t.Errorf("%d live patients, want %d (holder %q, updated %q)", c, want, holder, x)
		}
	})
}
