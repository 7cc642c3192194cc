package workbench

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
)

// putAll stores each resource in its own transaction, a little apart in
// time, and returns when each was stored.
func putAll(t *testing.T, st *store.Store, resources ...string) []time.Time {
	t.Helper()
	ctx := context.Background()
	var ats []time.Time
	for _, s := range resources {
		time.Sleep(3 * time.Millisecond)
		v := val(t, s)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			_, _, at, err := tx.PutValueIfMatch(ctx, v.ResourceType(), v.GetString("id"), v, 0)
			ats = append(ats, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ats
}

func TestStoreRange(t *testing.T) {
	storetest.Each(t, "workbench_range", func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ats := putAll(t, st,
			`{"resourceType":"Patient","id":"p1","name":[{"family":"Canary-Family"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"proposed","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`,
			`{"resourceType":"Appointment","id":"a1","status":"booked","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`,
			`{"resourceType":"Appointment","id":"a2","status":"booked"}`,
			`{"resourceType":"Appointment","id":"a3","status":"booked"}`,
			`{"resourceType":"Appointment","id":"a4","status":"cancelled"}`,
		)
		err := st.InTx(ctx, func(tx *store.Tx) error { _, _, err := tx.DeleteResource(ctx, "Appointment", "a3"); return err })
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(fwdMapping, "from: status", "from: \"status.upper()\"", 1)
		p := pair(t, fwdMapping, edited, nil)
		for _, tc := range []struct {
			name         string
			since, until time.Time
			page, max    int
			want         []string
			capped       bool
		}{
			{name: "all, pages of 2", page: 2, want: []string{"a4/_history/1", "a3/_history/1", "a2/_history/1", "a1/_history/2", "a1/_history/1"}},
			{name: "range", since: ats[2], until: ats[4], page: 1, want: []string{"a2/_history/1", "a1/_history/2"}},
			{name: "capped", page: 2, max: 3, want: []string{"a4/_history/1", "a3/_history/1", "a2/_history/1"}, capped: true},
			{name: "empty range", since: ats[5].Add(time.Hour)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				var family []string
				s, err := Run(ctx, p, StoreRange(st, "Appointment", tc.since, tc.until, tc.page), Options{MaxInputs: tc.max, OnResult: func(r Result) error {
					got = append(got, strings.TrimPrefix(r.Input.Ref, "Appointment/"))
					if len(r.After) == 1 {
						family = append(family, r.After[0].GetString("FAMILY"))
					}
					return nil
				}})
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, " ") != strings.Join(tc.want, " ") || s.Capped != tc.capped || s.Inputs != len(tc.want) {
					t.Fatalf("inputs %q capped %v, want %q capped %v", got, s.Capped, tc.want, tc.capped)
				}
				if s.Changed != len(tc.want) || s.Fields["STATUS"] != len(tc.want) {
					t.Fatalf("summary %+v", s)
				}
				for i, ref := range got {
					if strings.HasPrefix(ref, "a1/") && family[i] != "Canary-Family" {
						t.Fatalf("the Patient of %s did not resolve from the store: %q", ref, family[i])
					}
				}
			})
		}
		t.Run("cases from stored inputs carry the resolved Patient", func(t *testing.T) {
			var chosen []CaseInput
			_, err := Run(ctx, p, StoreRange(st, "Appointment", time.Time{}, time.Time{}, 10), Options{OnResult: func(r Result) error {
				chosen = append(chosen, CaseInput{Input: r.Input})
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			text, err := Cases(p, chosen)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(text), `"Canary-Family"`) || !strings.Contains(string(text), `"type":"collection"`) {
				t.Fatalf("the Patient is not in the saved input:\n%s", text)
			}
			checkCases(t, p, text, len(chosen))
		})
	})
}

// checkCases runs text with casetest against p's edited mapping and wants
// n cases, all passing.
func checkCases(t *testing.T, p *Pair, text []byte, n int) {
	t.Helper()
	casesPath := strings.TrimSuffix(p.Source.File, ".yaml") + ".cases.yaml"
	fsys := overlay{top: fstest.MapFS{p.Source.File: {Data: p.Edited}, casesPath: {Data: text}}, base: p.Source.FS}
	res, err := casetest.Run(fsys, casesPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(res) != n {
		t.Fatalf("%d cases, want %d", len(res), n)
	}
	for _, r := range res {
		if !r.Pass {
			t.Fatalf("case %q fails: %v %v\n%s", r.Name, r.Diff, r.Err, text)
		}
	}
}
