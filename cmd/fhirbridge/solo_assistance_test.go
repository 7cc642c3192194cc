package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// soloAssistanceLocations is a hospital: building, floor 2, room 431 with
// bed 2 (device 123457 in the simulator), and a ward "intensive care"
// with room 512, bed 1 (device 123458).
const soloAssistanceLocations = `
 {"resource":{"resourceType":"Location","id":"hosp","name":"hospital","physicalType":{"coding":[{"code":"bu"}]}},"request":{"method":"PUT","url":"Location/hosp"}},
 {"resource":{"resourceType":"Location","id":"f2","name":"floor 2","physicalType":{"coding":[{"code":"lvl"}]},"partOf":{"reference":"Location/hosp"}},"request":{"method":"PUT","url":"Location/f2"}},
 {"resource":{"resourceType":"Location","id":"r431","name":"431","physicalType":{"coding":[{"code":"ro"}]},"partOf":{"reference":"Location/f2"}},"request":{"method":"PUT","url":"Location/r431"}},
 {"resource":{"resourceType":"Location","id":"b431-2","name":"bed 2","physicalType":{"coding":[{"code":"bd"}]},"partOf":{"reference":"Location/r431"}},"request":{"method":"PUT","url":"Location/b431-2"}},
 {"resource":{"resourceType":"Location","id":"icu","name":"intensive care","physicalType":{"coding":[{"code":"wa"}]}},"request":{"method":"PUT","url":"Location/icu"}},
 {"resource":{"resourceType":"Location","id":"r512","name":"512","physicalType":{"coding":[{"code":"ro"}]},"partOf":{"reference":"Location/icu"}},"request":{"method":"PUT","url":"Location/r512"}},
 {"resource":{"resourceType":"Location","id":"b512-1","name":"bed 1","physicalType":{"coding":[{"code":"bd"}]},"partOf":{"reference":"Location/r512"}},"request":{"method":"PUT","url":"Location/b512-1"}},
 {"resource":{"resourceType":"Device","id":"dev-9","serialNumber":"999999"},"request":{"method":"PUT","url":"Device/dev-9"}},
 {"resource":{"resourceType":"Device","id":"dev-7","serialNumber":"123457"},"request":{"method":"PUT","url":"Device/dev-7"}}`

// assistTask is a Task entry; where is its location/focus member.
func assistTask(id, status, where string) string {
	return `{"resource":{"resourceType":"Task","id":"` + id + `","status":"` + status + `","intent":"order",
  "description":"CANARY-Quaxley needs a sitter","for":{"display":"CANARY-Zebulon Quaxley"},` + where + `},
  "request":{"method":"PUT","url":"Task/` + id + `"}}`
}

func txBundle(entries ...string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
}

// task reads a stored Task.
func readTask(t *testing.T, b *testBridge, id string) map[string]any {
	t.Helper()
	resp, err := http.Get(b.Base + "/fhir/Task/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return nil
	}
	return v
}

// businessStatus is the Task's businessStatus text.
func businessStatus(v map[string]any) string {
	bs, _ := v["businessStatus"].(map[string]any)
	s, _ := bs["text"].(string)
	return s
}

// output returns the Task's output valueString/valueDateTime of code.
func output(v map[string]any, code string) string {
	outs, _ := v["output"].([]any)
	for _, o := range outs {
		m, _ := o.(map[string]any)
		typ, _ := m["type"].(map[string]any)
		if typ["text"] == code {
			if s, ok := m["valueString"].(string); ok {
				return s
			}
			s, _ := m["valueDateTime"].(string)
			return s
		}
	}
	return ""
}

// TestServeSoloAssistance: Tasks become Solo assistance requests by each
// address variant (building, department, device); Solo's request id,
// status, device, care location and timestamps come back onto the Task
// and a status change at Solo reaches it through the poll; a cancelled
// Task cancels the request; an unknown device dead-letters with Solo's
// message; a Task without a complete address is refused at intake.
func TestServeSoloAssistance(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-test"})
	sim.AddAssistanceDevice(solosim.AssistanceDevice{Serial: "123459", Building: "annex", Floor: "1", Room: "9", CareLocationID: "cl-9", CareLocationName: "ANNEX-9"})
	b := startBridgeOn(t, sim, `connectors:
  solo:
    base_url: "$SIMURL"
    api_key: {env: BRIDGE_SOLO_KEY}
    assistance: {poll: 1s}
routes:
  - {name: solo-assistance, resource: Task, mapping: solo/assistance-request, connector: solo}
`)
	post(t, b.Base+"/fhir", txBundle(soloAssistanceLocations,
		`{"resource":{"resourceType":"Device","id":"dev-annex","serialNumber":"123459"},"request":{"method":"PUT","url":"Device/dev-annex"}}`,
		assistTask("ta-b", "requested", `"location":{"reference":"Location/b431-2"}`),
		assistTask("ta-d", "requested", `"location":{"reference":"Location/b512-1"}`),
		assistTask("ta-v", "requested", `"focus":{"reference":"Device/dev-annex"}`),
		assistTask("ta-u", "requested", `"focus":{"reference":"Device/dev-9"}`),
	), 200)
	request := func(device string) solosim.AssistanceRequest {
		for _, r := range b.Sim.AssistanceRequests() {
			if r.Device == device {
				return r
			}
		}
		return solosim.AssistanceRequest{}
	}
	b.Wait("a request by each variant at Solo", func() bool { return len(b.Sim.AssistanceRequests()) == 3 })
	byBuilding, byDept, byDevice := request("123457"), request("123458"), request("123459")
	if byBuilding.ID == "" || byDept.ID == "" || byDevice.ID == "" {
		t.Fatalf("requests by device: %+v", b.Sim.AssistanceRequests())
	}
	for id, want := range map[string]solosim.AssistanceRequest{"ta-b": byBuilding, "ta-d": byDept, "ta-v": byDevice} {
		b.Wait("Solo's request on Task "+id, func() bool {
			v := readTask(t, b, id)
			return businessStatus(v) == "incomplete" && output(v, "id") == want.ID && output(v, "device") == want.Device &&
				output(v, "careLocation") != "" && output(v, "createdAt") != "" && v["status"] == "requested"
		})
	}
	// the nurse takes the building request; the department one is finished
	b.Sim.SetAssistanceStatus(byBuilding.ID, "in progress", false)
	b.Sim.SetAssistanceStatus(byDept.ID, "finished", true)
	b.Wait("the new status on Task ta-b", func() bool { return businessStatus(readTask(t, b, "ta-b")) == "in progress" })
	b.Wait("the finished request closes Task ta-d", func() bool {
		v := readTask(t, b, "ta-d")
		return v["status"] == "completed" && businessStatus(v) == "closed"
	})
	// the EHR cancels the device Task
	put(t, b.Base+"/fhir/Task/ta-v", `{"resourceType":"Task","id":"ta-v","status":"cancelled","intent":"order","focus":{"reference":"Device/dev-annex"}}`, 200)
	b.Wait("the device request cancelled at Solo", func() bool { return request("123459").Cancelled })
	// refused at intake: no address at all, and a room without floor or ward
	out := post(t, b.Base+"/fhir", txBundle(assistTask("ta-x", "requested", `"note":[{"text":"x"}]`)), 422)
	if !strings.Contains(out, "Task.location") || strings.Contains(out, "CANARY") {
		t.Errorf("refusal without a location: %s", out)
	}
	out = post(t, b.Base+"/fhir", txBundle(
		`{"resource":{"resourceType":"Location","id":"lone","name":"7","physicalType":{"coding":[{"code":"ro"}]}},"request":{"method":"PUT","url":"Location/lone"}}`,
		assistTask("ta-y", "requested", `"location":{"reference":"Location/lone"}`)), 422)
	if !strings.Contains(out, "building") || strings.Contains(out, "CANARY") {
		t.Errorf("refusal of an incomplete address: %s", out)
	}
	b.Stop()
	dlq, stderr, code := run(t, "", "deliveries", "list", "--state", "dlq", "--config", b.Config)
	fields := strings.Fields(strings.TrimSpace(dlq[strings.Index(dlq, "\n")+1:]))
	if code != 0 || !strings.Contains(dlq, "Task/ta-u/") || strings.Count(strings.TrimSpace(dlq), "\n") != 1 || len(fields) == 0 {
		t.Fatalf("deliveries list --state dlq: exit %d, want the unknown device's Task only:\n%s%s", code, dlq, stderr)
	}
	shown, stderr, code := run(t, "", "deliveries", "show", fields[0], "--config", b.Config)
	if code != 0 || !strings.Contains(shown, "Device could not be found from the data submitted") || strings.Contains(shown, "999999") {
		t.Errorf("deliveries show %s: exit %d, want Solo's message without the serial number:\n%s%s", fields[0], code, shown, stderr)
	}
	b.NoCanary("CANARY", "k-test")
}
