package delivery

import (
	"context"
	"errors"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestRouterObservers: an observer sees the versions of its types only,
// before the routes, and its error fails the routing (so the ingest
// transaction stores nothing).
func TestRouterObservers(t *testing.T) {
	var seen []string
	boom := errors.New("boom")
	r := &Router{}
	r.Observe(Observer{Name: "slots", Types: []string{"Slot", "Schedule"}, Observe: func(_ context.Context, _ *store.Tx, typ, id string, v int, _ *fhir.Value) error {
		seen = append(seen, typ+"/"+id)
		if id == "bad" {
			return boom
		}
		return nil
	}})
	ctx := context.Background()
	res := fhir.NewObject()
	for _, c := range []struct {
		typ, id string
		err     bool
	}{{"Slot", "s1", false}, {"Patient", "p1", false}, {"Schedule", "sc1", false}, {"Slot", "bad", true}} {
		err := r.Route(ctx, nil, c.typ, c.id, 1, res)
		if (err != nil) != c.err || (c.err && !errors.Is(err, boom)) {
			t.Fatalf("Route(%s/%s) = %v, want error %v", c.typ, c.id, err, c.err)
		}
	}
	want := []string{"Slot/s1", "Schedule/sc1", "Slot/bad"}
	if len(seen) != len(want) {
		t.Fatalf("observer saw %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("observer saw %v, want %v", seen, want)
		}
	}
}
