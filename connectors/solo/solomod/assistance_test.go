package solomod

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
)

const assistTaskJSON = `{"resourceType":"Task","id":"t1","status":"requested","intent":"order",
 "identifier":[{"system":"urn:fhirbridge:solo:id","value":"req-1"}],
 "extension":[{"url":"urn:fhirbridge:solo:device","valueString":"123457"},{"url":"urn:fhirbridge:solo:status","valueString":"incomplete"},{"url":"urn:site:other","valueString":"kept"}]}`

func TestApplyAssistance(t *testing.T) {
	open := solo.AssistanceRequest{ID: "req-1", Device: "123457", Status: "in progress", CareLocationID: "cl", CareLocationName: "ICC", CreatedAt: "2026-12-01T08:00:00+00:00"}
	finished := open
	finished.FinishedAt = "2026-12-01T09:00:00+00:00"
	other := open
	other.ID = "req-2"
	for _, tc := range []struct {
		name           string
		req            solo.AssistanceRequest
		found          bool
		status, bs     string
		device, create string
	}{
		{"still current", open, true, "requested", "in progress", "123457", "2026-12-01T08:00:00+00:00"},
		{"finished at Solo", finished, true, "completed", "in progress", "123457", "2026-12-01T08:00:00+00:00"},
		{"no current request", solo.AssistanceRequest{}, false, "completed", AssistanceClosed, "", ""},
		{"another request is current", other, true, "completed", AssistanceClosed, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task, err := fhir.DecodeString(assistTaskJSON, fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			before := string(task.JSON())
			got := ApplyAssistance(task, tc.req, tc.found)
			if string(task.JSON()) != before {
				t.Fatal("the Task given was modified")
			}
			if got.GetString("status") != tc.status || got.Get("businessStatus").GetString("text") != tc.bs {
				t.Fatalf("status %q businessStatus %s", got.GetString("status"), got.Get("businessStatus").JSON())
			}
			outs := map[string]string{}
			if arr := got.Get("output"); arr != nil {
				for _, o := range arr.Items {
					v := o.GetString("valueString") + o.GetString("valueDateTime")
					outs[o.Get("type").GetString("text")] = v
				}
			}
			if outs["device"] != tc.device || outs["createdAt"] != tc.create {
				t.Fatalf("output %v", outs)
			}
			js := string(got.JSON())
			if !strings.Contains(js, "urn:site:other") {
				t.Fatalf("a foreign extension was dropped: %s", js)
			}
			if tc.found && tc.req.ID == "req-1" && strings.Count(js, "urn:fhirbridge:solo:status") != 1 {
				t.Fatalf("the status extension not replaced once: %s", js)
			}
		})
	}
}

func TestPollable(t *testing.T) {
	for _, tc := range []struct {
		name, task string
		ok         bool
	}{
		{"open and delivered", assistTaskJSON, true},
		{"completed", strings.Replace(assistTaskJSON, `"requested"`, `"completed"`, 1), false},
		{"cancelled", strings.Replace(assistTaskJSON, `"requested"`, `"cancelled"`, 1), false},
		{"not delivered", `{"resourceType":"Task","status":"requested"}`, false},
		{"no device", strings.Replace(assistTaskJSON, "urn:fhirbridge:solo:device", "x", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := fhir.DecodeString(tc.task, fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := pollable("t1", v); ok != tc.ok {
				t.Fatalf("pollable %v, want %v", ok, tc.ok)
			}
		})
	}
}

func TestAssistanceConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll time.Duration
		want time.Duration
		err  bool
	}{
		{"default", 0, DefaultAssistancePoll, false},
		{"set", 5 * time.Second, 5 * time.Second, false},
		{"too short", 100 * time.Millisecond, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Assistance{Poll: connectors.Duration(tc.poll)}
			a.fillDefaults()
			errs := a.validate()
			if (len(errs) > 0) != tc.err {
				t.Fatalf("errors %v", errs)
			}
			if tc.err {
				if !strings.Contains(errs[0].Error(), "connectors.solo.assistance.poll") {
					t.Fatalf("error %v does not name the key", errs[0])
				}
				return
			}
			if time.Duration(a.Poll) != tc.want {
				t.Fatalf("poll %v, want %v", time.Duration(a.Poll), tc.want)
			}
		})
	}
}

// TestTaskStatusesCovered: the statuses a pass reads and the closed ones
// are together R4's Task.status codes, each once, so an open Task is never
// left out of the indexed read.
func TestTaskStatusesCovered(t *testing.T) {
	r4 := []string{"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
		"in-progress", "on-hold", "failed", "completed", "entered-in-error"}
	got := append(slices.Clone(openTaskStatuses), closedTask...)
	slices.Sort(got)
	slices.Sort(r4)
	if !slices.Equal(got, r4) {
		t.Errorf("open+closed Task statuses = %v, want R4's %v", got, r4)
	}
}
