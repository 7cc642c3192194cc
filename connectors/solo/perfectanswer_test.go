package solo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

const (
	paLocation = "3f1c2a9e-8d4b-4c1e-9a7f-0b5e6d7c8a91"
	// paJSON is the mapped body of a ServiceRequest (solo/perfect-answer),
	// with canary patient values.
	paJSON = `{"firstName":"Tweety","lastName":"Canaryson","dob":"1983-08-15","mrn":"MRN-CANARY-7731",
	  "requestingProvider":"Bob Dylan","consultType":"new","caller":"Caller Canary",
	  "bridge":{"patient":"pat-1","location":"ed-main","reasons":["http://snomed.info/sct|230690007","Stroke"]}}`
)

func paTables() PerfectAnswerTables {
	return PerfectAnswerTables{Locations: map[string]string{"ed-main": paLocation, "ward-9": "not-a-uuid"},
		Reasons: map[string]string{"http://snomed.info/sct|230690007": "Stroke", "eeg": "EEG Stat"}}
}

func paDelivery(t *testing.T, js string) connectors.Delivery {
	return connectors.Delivery{Flow: FlowPerfectAnswer, Key: "ServiceRequest/sr-1/1", ResourceType: "ServiceRequest",
		ResourceID: "sr-1", Op: connectors.Create, Body: body(t, js), Fresh: true}
}

// TestDeliverPerfectAnswer: the visit is created with the looked-up
// location and reason, the bridge member is not sent, and the answer comes
// back as the ServiceRequest's id, the Patient's Solo id and a new
// Encounter basedOn the ServiceRequest.
func TestDeliverPerfectAnswer(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	pa := &PerfectAnswer{Next: e.c, Tables: paTables()}
	res, err := pa.Deliver(context.Background(), paDelivery(t, paJSON))
	if err != nil {
		t.Fatal(err)
	}
	v := e.sim.PerfectAnswers()
	if len(v) != 1 {
		t.Fatalf("visits %+v", v)
	}
	if b := v[0].Body; b["locationId"] != paLocation || b["reason"] != "Stroke" || b["bridge"] != "" || b["mrn"] != "MRN-CANARY-7731" {
		t.Errorf("sent %+v", b)
	}
	if len(v[0].Unknown) != 0 {
		t.Errorf("undocumented members sent: %v", v[0].Unknown)
	}
	if res.VendorID != v[0].EncounterID || res.Attributes["patientId"] != v[0].PatientID || len(res.Related) != 2 {
		t.Fatalf("result %+v", res)
	}
	if p := res.Related[0]; p.Type != "Patient" || p.ID != "pat-1" || p.VendorID != v[0].PatientID || p.Resource != nil {
		t.Errorf("patient %+v", p)
	}
	enc := res.Related[1]
	js := string(enc.Resource.JSON())
	for _, want := range []string{`"id":"solo-pa-` + v[0].EncounterID + `"`, `"basedOn":[{"reference":"ServiceRequest/sr-1"}]`,
		`"subject":{"reference":"Patient/pat-1"}`, `"status":"planned"`, `{"system":"urn:fhirbridge:solo:id","value":"` + v[0].EncounterID + `"}`} {
		if !strings.Contains(js, want) {
			t.Errorf("Encounter lacks %s: %s", want, js)
		}
	}
	if enc.Type != "Encounter" || enc.ID != "solo-pa-"+v[0].EncounterID || enc.VendorID != v[0].EncounterID {
		t.Errorf("encounter %+v", enc)
	}

	// a later version of the delivered request: no call
	n := len(e.sim.Requests())
	upd := paDelivery(t, paJSON)
	upd.Op, upd.VendorID = connectors.Update, res.VendorID
	if r, err := pa.Deliver(context.Background(), upd); err != nil || r.VendorID != res.VendorID || len(e.sim.Requests()) != n {
		t.Errorf("update: %+v %v, %d calls", r, err, len(e.sim.Requests())-n)
	}
}

// TestDeliverPerfectAnswerRefusals: every refusal is permanent, names the
// field or the table, and carries no patient value.
func TestDeliverPerfectAnswerRefusals(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	pa := &PerfectAnswer{Next: e.c, Tables: paTables()}
	if _, err := pa.Deliver(context.Background(), paDelivery(t, paJSON)); err != nil {
		t.Fatal(err)
	}
	other := strings.ReplaceAll(paJSON, "MRN-CANARY-7731", "MRN-CANARY-9")
	cases := []struct {
		name, body string
		want       string
		is         error
	}{
		{"second visit within 24 hours", paJSON, "within 24 hours", ErrVisitWithin24h},
		{"location Solo refuses", strings.Replace(other, `"location":"ed-main"`, `"location":"ward-9"`, 1), "fields: locationId", nil},
		{"location not in the table", strings.Replace(other, `"location":"ed-main"`, `"location":"nowhere"`, 1), "perfect_answer.locations", ErrNoLocation},
		{"no reason in the table", strings.Replace(other, `"reasons":["http://snomed.info/sct|230690007","Stroke"]`, `"reasons":["urn:x|headache"]`, 1), "perfect_answer.reasons", ErrNoReason},
		{"reason by bare code", strings.Replace(strings.Replace(other, `"reasons":["http://snomed.info/sct|230690007","Stroke"]`, `"reasons":["urn:local|eeg"]`, 1), `"dob":"1983-08-15"`, `"dob":"15/08/1983"`, 1), "fields: dob", nil},
		{"no patient id", strings.Replace(other, `"patient":"pat-1",`, ``, 1), "bridge.patient", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pa.Deliver(context.Background(), paDelivery(t, c.body))
			if err == nil {
				t.Fatal("delivered")
			}
			if cl, _ := connectors.Classify(err); cl != connectors.Permanent {
				t.Errorf("class %v: %v", cl, err)
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("error %v, want %q", err, c.want)
			}
			for _, canary := range []string{"Canary", "Tweety", "MRN-", "1983", "Dylan"} {
				if strings.Contains(err.Error(), canary) {
					t.Errorf("the error carries a patient value %q: %v", canary, err)
				}
			}
		})
	}
	if n := len(e.sim.PerfectAnswers()); n != 1 {
		t.Errorf("%d visits, want 1", n)
	}
}

// TestPerfectAnswerIDs: only a UUID-like patientId and encounterId are
// taken from Solo's answer.
func TestPerfectAnswerIDs(t *testing.T) {
	cases := []struct {
		ans    string
		ok     bool
		pid, e string
	}{
		{`{"patientId":"p-1","encounterId":"e-1"}`, true, "p-1", "e-1"},
		{`{"patientId":12,"encounterId":"e-1"}`, true, "12", "e-1"},
		{`{"patientId":"p-1"}`, false, "", ""},
		{`{"patientId":"p/1","encounterId":"e-1"}`, false, "", ""},
		{`{"patientId":"p-1","encounterId":"` + strings.Repeat("a", 57) + `"}`, false, "", ""},
		{`[]`, false, "", ""},
		{``, false, "", ""},
	}
	for _, c := range cases {
		pid, eid, err := perfectAnswerIDs([]byte(c.ans))
		if (err == nil) != c.ok || pid != c.pid || eid != c.e {
			t.Errorf("%s: %q %q %v", c.ans, pid, eid, err)
		}
	}
}

// FuzzPerfectAnswerIDs: any answer gives ids fit for a FHIR id or an error.
func FuzzPerfectAnswerIDs(f *testing.F) {
	f.Add([]byte(`{"patientId":"p-1","encounterId":"e-1"}`))
	f.Add([]byte(`{"patientId":1e3,"encounterId":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = isWithin24h(b) // any answer: no panic
		pid, eid, err := perfectAnswerIDs(b)
		if err == nil && (!soloID.MatchString(pid) || !soloID.MatchString(eid)) {
			t.Fatalf("accepted %q %q", pid, eid)
		}
	})
}

// TestCheckPerfectAnswerTables: each bad entry is named with its key.
func TestCheckPerfectAnswerTables(t *testing.T) {
	errs := CheckPerfectAnswerTables(PerfectAnswerTables{
		Locations: map[string]string{"ed-main": paLocation, "bad id/x": paLocation, "empty": " "},
		Reasons:   map[string]string{"sct|1": "Stroke", "x": "Migraine"},
	}, "connectors.solo.perfect_answer")
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	got := strings.Join(all, "\n")
	for _, want := range []string{`connectors.solo.perfect_answer.locations: "bad id/x" is not a FHIR Location id`,
		"connectors.solo.perfect_answer.locations[empty]", `connectors.solo.perfect_answer.reasons[x]: "Migraine" is not one of`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(errs) != 3 {
		t.Errorf("%d errors:\n%s", len(errs), got)
	}
}
