package ttsim

import (
	"encoding/json"
	"fmt"
	"time"
)

// The sample's ids: what the sandbox's Bundle holds and its Scenario
// books.
const (
	SampleCenter   = "sim-center"
	SampleLocation = "sim-loc-1"
	SampleResource = "sim-res-1"
	SampleActivity = "sim-act-1"
	SampleSchedule = "sim-sched-1"
)

// SampleBundle is a FHIR R4 transaction Bundle (PUT entries) the EHR
// would post to the bridge for online booking, synthetic: a Location, a
// Practitioner, a HealthcareService of 30 minutes, the PractitionerRole
// relating them, a Schedule whose actors are the three, and free 30-minute
// Slots from 09:00 to 12:00 on the five weekdays after from's day, in
// loc. Slot ids are sim-slot-<yyyymmdd>-<hhmm>.
func SampleBundle(from time.Time, loc *time.Location) []byte {
	var list []any
	add := func(r map[string]any) {
		list = append(list, map[string]any{
			"resource": r,
			"request":  map[string]any{"method": "PUT", "url": fmt.Sprintf("%s/%s", r["resourceType"], r["id"])},
		})
	}
	ref := func(s string) map[string]any { return map[string]any{"reference": s} }
	add(map[string]any{"resourceType": "Location", "id": SampleLocation, "name": "Sandbox clinic"})
	add(map[string]any{"resourceType": "Practitioner", "id": SampleResource,
		"name": []any{map[string]any{"family": "Sandbox", "given": []any{"Dana"}}}})
	add(map[string]any{"resourceType": "HealthcareService", "id": SampleActivity, "name": "General consultation",
		"category": []any{map[string]any{"coding": []any{map[string]any{"code": "gen", "display": "General"}}}},
		"extension": []any{map[string]any{"url": "urn:fhirbridge:tuotempo:duration",
			"valueDuration": map[string]any{"value": 30, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}}}})
	add(map[string]any{"resourceType": "PractitionerRole", "id": "sim-role-1", "active": true,
		"practitioner": ref("Practitioner/" + SampleResource), "healthcareService": []any{ref("HealthcareService/" + SampleActivity)},
		"location": []any{ref("Location/" + SampleLocation)}})
	add(map[string]any{"resourceType": "Schedule", "id": SampleSchedule, "active": true,
		"actor": []any{ref("Practitioner/" + SampleResource), ref("Location/" + SampleLocation), ref("HealthcareService/" + SampleActivity)}})
	day := from.In(loc)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	for n := 0; n < 5; {
		day = day.AddDate(0, 0, 1)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		n++
		for m := 9 * 60; m < 12*60; m += 30 {
			start := day.Add(time.Duration(m) * time.Minute)
			add(map[string]any{"resourceType": "Slot", "id": "sim-slot-" + start.Format("20060102-1504"),
				"schedule": ref("Schedule/" + SampleSchedule), "status": "free",
				"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339)})
		}
	}
	b, _ := json.MarshalIndent(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": list}, "", " ")
	return b
}
