package delivery

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

type nopConn struct{}

func (nopConn) Deliver(context.Context, connectors.Delivery) (connectors.Result, error) {
	return connectors.Result{}, nil
}

// TestStoreRelated: what an answer gives beyond the delivered resource is
// stored, linked and routed in the delivery's transaction; an id the
// resource already has at the vendor, or one linked to another resource,
// is kept; an unchanged resource is neither stored again nor routed.
func TestStoreRelated(t *testing.T) {
	ctx := context.Background()
	dec := func(s string) *fhir.Value {
		v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	enc := `{"resourceType":"Encounter","id":"enc-1","status":"planned","subject":{"reference":"Patient/p1"}}`
	cases := []struct {
		name     string
		linked   map[string]string // FHIR Patient id → existing solo id
		rel      []connectors.Related
		wantIDs  map[string]string // Patient id → solo id in the crosswalk afterwards
		wantJobs []string          // "flow type/id" enqueued
		wantBody map[string]string // type/id → substring of the stored body
	}{
		{name: "new encounter and a patient's first id",
			rel:      []connectors.Related{{Type: "Patient", ID: "p1", VendorID: "S-1"}, {Type: "Encounter", ID: "enc-1", Resource: dec(enc)}},
			wantIDs:  map[string]string{"p1": "S-1"},
			wantJobs: []string{"enc-route Encounter/enc-1", "ehr Encounter/enc-1", "ehr Patient/p1", "pat-route Patient/p1"},
			wantBody: map[string]string{"Patient/p1": `{"system":"urn:fhirbridge:solo:id","value":"S-1"}`, "Encounter/enc-1": `"status":"planned"`}},
		{name: "the patient's own solo id is kept",
			linked:  map[string]string{"p1": "OWN"},
			rel:     []connectors.Related{{Type: "Patient", ID: "p1", VendorID: "S-1"}},
			wantIDs: map[string]string{"p1": "OWN"}},
		{name: "an id already linked to another patient is left",
			linked:  map[string]string{"p2": "S-1"},
			rel:     []connectors.Related{{Type: "Patient", ID: "p1", VendorID: "S-1"}},
			wantIDs: map[string]string{"p2": "S-1"}},
		{name: "the same id again changes nothing",
			linked:  map[string]string{"p1": "S-1"},
			rel:     []connectors.Related{{Type: "Patient", ID: "p1", VendorID: "S-1"}},
			wantIDs: map[string]string{"p1": "S-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := store.Open(ctx, storeURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			router := &Router{Routes: []Route{{Flow: "pat-route", Resource: "Patient"}, {Flow: "enc-route", Resource: "Encounter"}}}
			flows := map[string]Flow{EHRFlow: {Connector: nopConn{}, Vendor: EHRFlow},
				"pat-route": {Connector: nopConn{}, Vendor: "x"}, "enc-route": {Connector: nopConn{}, Vendor: "x"}}
			r, err := NewRunner(ctx, st, flows, Options{Router: router})
			if err != nil {
				t.Fatal(err)
			}
			err = st.InTx(ctx, func(tx *store.Tx) error {
				for _, id := range []string{"p1", "p2"} {
					body := `{"resourceType":"Patient","id":"` + id + `"}`
					if vid, ok := c.linked[id]; ok { // as its own delivery wrote it
						body = `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"urn:fhirbridge:solo:id","value":"` + vid + `"}]}`
					}
					if _, _, err := tx.PutResource(ctx, "Patient", id, []byte(body)); err != nil {
						return err
					}
				}
				for id, vid := range c.linked {
					if err := tx.LinkVendorID(ctx, "solo", "Patient", id, vid); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.InTx(ctx, func(tx *store.Tx) error { return r.storeRelated(ctx, tx, "solo", c.rel) }); err != nil {
				t.Fatal(err)
			}
			for id, want := range c.wantIDs {
				if got, err := st.VendorID(ctx, "solo", "Patient", id); err != nil || got != want {
					t.Errorf("Patient/%s: solo id %q %v, want %q", id, got, err, want)
				}
			}
			jobs, err := NewQueue(st).List(ctx, Filter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.Flow+" "+j.ResourceType+"/"+j.ResourceID)
			}
			if strings.Join(relatedSorted(got), ",") != strings.Join(relatedSorted(c.wantJobs), ",") {
				t.Errorf("jobs %v, want %v", got, c.wantJobs)
			}
			for ref, want := range c.wantBody {
				typ, id, _ := strings.Cut(ref, "/")
				body, _, err := st.GetResource(ctx, typ, id)
				if err != nil || !strings.Contains(string(body), want) {
					t.Errorf("%s: %s %v, want %s", ref, body, err, want)
				}
			}
			if len(c.wantBody) == 0 { // nothing written onto the Patient
				if _, ver, _ := st.GetResource(ctx, "Patient", "p1"); ver != 1 {
					t.Errorf("Patient/p1 has version %d, want 1", ver)
				}
			}
		})
	}
}

func relatedSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
