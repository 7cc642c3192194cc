package catalog

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// stored are the catalogue resources of the tests: two centers' roles,
// an inactive one, one without services, one whose practitioner is gone,
// and a patient that must never show.
var stored = []string{
	`{"resourceType":"Practitioner","id":"prac-1","name":[{"family":"Pruebas","given":["Andrés"]}]}`,
	`{"resourceType":"Practitioner","id":"prac-2","name":[{"text":"Dra. Ana Demo"}]}`,
	`{"resourceType":"HealthcareService","id":"act-1","name":"Primera visita","category":[{"coding":[{"code":"CARD","display":"Cardiología"}]}],
	  "extension":[{"url":"urn:fhirbridge:tuotempo:price","valueMoney":{"value":60,"currency":"EUR"}},{"url":"urn:fhirbridge:tuotempo:duration","valueDuration":{"value":20,"code":"min"}}]}`,
	`{"resourceType":"HealthcareService","id":"act-2","name":"Revisión"}`,
	`{"resourceType":"Location","id":"loc-a","name":"Sede A"}`,
	`{"resourceType":"Location","id":"loc-b","name":"Sede B"}`,
	`{"resourceType":"InsurancePlan","id":"ins-1","name":"Mutua Demo"}`,
	`{"resourceType":"PractitionerRole","id":"r1","practitioner":{"reference":"Practitioner/prac-1"},"location":[{"reference":"Location/loc-a"}],
	  "healthcareService":[{"reference":"HealthcareService/act-1"},{"reference":"HealthcareService/act-2"}]}`,
	`{"resourceType":"PractitionerRole","id":"r2","practitioner":{"reference":"Practitioner/prac-2"},"location":[{"reference":"Location/loc-b"}],
	  "healthcareService":[{"reference":"HealthcareService/act-1"}],
	  "extension":[{"url":"urn:fhirbridge:tuotempo:price","valueMoney":{"value":85.5,"currency":"EUR"}},{"url":"urn:fhirbridge:tuotempo:insurance","valueReference":{"reference":"InsurancePlan/ins-1"}}]}`,
	`{"resourceType":"PractitionerRole","id":"r3","active":false,"practitioner":{"reference":"Practitioner/prac-1"},"location":[{"reference":"Location/loc-a"}],"healthcareService":[{"reference":"HealthcareService/act-2"}]}`,
	`{"resourceType":"PractitionerRole","id":"r4","practitioner":{"reference":"Practitioner/prac-1"},"location":[{"reference":"Location/loc-a"}]}`,
	`{"resourceType":"PractitionerRole","id":"r5","practitioner":{"reference":"Practitioner/gone"},"location":[{"reference":"Location/loc-b"}],"healthcareService":[{"reference":"HealthcareService/act-2"}]}`,
	`{"resourceType":"Patient","id":"pat-1","name":[{"family":"Secreto","given":["Paciente"]}],"identifier":[{"system":"urn:dni","value":"12345678Z"}]}`,
}

// openStore is storetest.Open.
func openStore(t testing.TB, resources ...string) *store.Store {
	t.Helper()
	return storetest.Open(t, resources...)
}

var centers = []ws.Center{
	{LID: "A", Name: "Centro A", Locations: []string{"loc-a"}, Address: "Calle Mayor 1", Phone: "910000000"},
	{LID: "B", Name: "Centro B", Locations: []string{"loc-b"}, WebsiteURL: "https://b.example.org"},
	{LID: "ALL", Name: "Todo", Description: "every role"},
}

func ops(t *testing.T, st *store.Store, log *slog.Logger) map[string]*ws.Operation {
	t.Helper()
	list, err := Operations(st, centers, log)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*ws.Operation{}
	for _, op := range list {
		m[op.Name] = op
	}
	return m
}

// TestKeyEntities: per center, one record per active role × service at
// the center's locations; prices from the role over the service; a role
// whose practitioner is gone is left out and logged by id only.
func TestKeyEntities(t *testing.T) {
	st := openStore(t, stored...)
	var logs bytes.Buffer
	op := ops(t, st, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))["KeyEntities"]
	for _, c := range []struct {
		center string
		want   []string // RESOURCE_LID/ACTIVITY_LID/ACTIVITY_PRICE/INSURANCE_LID/LOCATION_LID
	}{
		{"A", []string{"prac-1/act-1/60//loc-a", "prac-1/act-2///loc-a"}},
		{"B", []string{"prac-2/act-1/85.5/ins-1/loc-b"}},
		{"ALL", []string{"prac-1/act-1/60//loc-a", "prac-1/act-2///loc-a", "prac-2/act-1/85.5/ins-1/loc-b"}},
	} {
		t.Run(c.center, func(t *testing.T) {
			recs, err := op.Call(context.Background(), &ws.Request{Center: c.center})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, strings.Join([]string{r["RESOURCE_LID"], r["ACTIVITY_LID"], r["ACTIVITY_PRICE"], r["INSURANCE_LID"], r["LOCATION_LID"]}, "/"))
				for k := range r {
					if !slices.ContainsFunc(op.Out, func(f ws.Field) bool { return f.Name == k }) {
						t.Errorf("record field %s is not in Out", k)
					}
				}
				for _, f := range op.Out {
					if f.Required && r[f.Name] == "" {
						t.Errorf("required %s empty in %v", f.Name, r)
					}
				}
				for _, v := range r {
					if strings.Contains(v, "Secreto") || strings.Contains(v, "12345678Z") {
						t.Errorf("patient data in KeyEntities: %v", r)
					}
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("records = %q, want %q", got, c.want)
			}
		})
	}
	if !strings.Contains(logs.String(), "id=r5") {
		t.Errorf("the role with a missing practitioner was not logged by id:\n%s", logs.String())
	}
	if _, err := op.Call(context.Background(), &ws.Request{Center: "nope"}); ws.KindOf(err) != ws.NotFound {
		t.Errorf("unknown center: err = %v, want NotFound", err)
	}
}

// TestKeyEntitiesStoreDown: a store failure is a server fault, not an
// empty catalogue.
func TestKeyEntitiesStoreDown(t *testing.T) {
	st := openStore(t, stored...)
	op := ops(t, st, nil)["KeyEntities"]
	st.Close()
	recs, err := op.Call(context.Background(), &ws.Request{Center: "A"})
	if err == nil || ws.KindOf(err) != 0 {
		t.Fatalf("closed store: recs %v err %v, want a plain error", recs, err)
	}
}

// TestGetCenters: one record per configured center, optional fields only
// when set.
func TestGetCenters(t *testing.T) {
	st := openStore(t)
	op := ops(t, st, nil)["GetCenters"]
	recs, err := op.Call(context.Background(), &ws.Request{Center: "A"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ws.Record{
		{"CENTER_LID": "A", "CENTER_NAME": "Centro A", "ADDRESS": "Calle Mayor 1", "PHONE": "910000000"},
		{"CENTER_LID": "B", "CENTER_NAME": "Centro B", "WEBSITE_URL": "https://b.example.org"},
		{"CENTER_LID": "ALL", "CENTER_NAME": "Todo", "DESCRIPTION": "every role"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d centers, want %d", len(recs), len(want))
	}
	for i := range want {
		if !mapsEqual(recs[i], want[i]) {
			t.Errorf("center %d = %v, want %v", i, recs[i], want[i])
		}
	}
}

func mapsEqual(a, b ws.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOperationsRefuses: bad center lists are refused at construction.
func TestOperationsRefuses(t *testing.T) {
	st := openStore(t)
	for name, cs := range map[string][]ws.Center{
		"no lid":       {{Name: "x"}},
		"duplicate":    {{LID: "a"}, {LID: "a"}},
		"comma in loc": {{LID: "a", Locations: []string{"l1,l2"}}},
	} {
		if _, err := Operations(st, cs, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Operations(nil, nil, nil); err == nil {
		t.Error("nil store accepted")
	}
}

// BenchmarkKeyEntities: one KeyEntities call over 1,000 roles × 3
// services (300 services, 50 locations) in SQLite.
func BenchmarkKeyEntities(b *testing.B) {
	var res []string
	for i := range 300 {
		res = append(res, fmt.Sprintf(`{"resourceType":"HealthcareService","id":"act-%d","name":"Servicio %d","extension":[{"url":"urn:fhirbridge:tuotempo:price","valueMoney":{"value":%d}}]}`, i, i, 20+i%50))
	}
	for i := range 50 {
		res = append(res, fmt.Sprintf(`{"resourceType":"Location","id":"loc-%d","name":"Sede %d"}`, i, i))
	}
	for i := range 1000 {
		res = append(res,
			fmt.Sprintf(`{"resourceType":"Practitioner","id":"prac-%d","name":[{"family":"Apellido","given":["Nombre%d"]}]}`, i, i),
			fmt.Sprintf(`{"resourceType":"PractitionerRole","id":"role-%d","practitioner":{"reference":"Practitioner/prac-%d"},"location":[{"reference":"Location/loc-%d"}],"healthcareService":[{"reference":"HealthcareService/act-%d"},{"reference":"HealthcareService/act-%d"},{"reference":"HealthcareService/act-%d"}]}`, i, i, i%50, i%300, (i+1)%300, (i+2)%300))
	}
	st := openStore(b, res...)
	list, err := Operations(st, []ws.Center{{LID: "ALL", Name: "x"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		recs, err := list[0].Call(context.Background(), &ws.Request{Center: "ALL"})
		if err != nil || len(recs) != 3000 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}
