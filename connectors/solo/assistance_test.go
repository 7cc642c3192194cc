package solo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

func assistDelivery(t *testing.T, js, vendorID string, op connectors.Op, fresh bool) connectors.Delivery {
	return connectors.Delivery{Flow: FlowAssistance, Key: "Task/t1/1", ResourceType: "Task", ResourceID: "t1",
		Op: op, Body: body(t, js), VendorID: vendorID, Fresh: fresh}
}

// TestAssistanceDeliver creates a request by each address variant, and
// checks the documented errors arrive permanent with Solo's own text.
func TestAssistanceDeliver(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int // Solo's error status; 0: created
		reason     string
	}{
		{"building variant", `{"building":"hospital","floor":"floor 2","room":"431","bed":"bed 2"}`, 0, ""},
		{"building variant without bed", `{"building":"hospital","floor":"floor 3","room":"512"}`, 0, ""},
		{"department variant", `{"department":"emergency department","room":"431","bed":"bed 2"}`, 0, ""},
		{"device variant", `{"deviceSerialNumber":"123458"}`, 0, ""},
		{"incomplete building variant", `{"building":"hospital","room":"431"}`, http.StatusBadRequest, "Missing Required Parameters"},
		{"unknown device", `{"deviceSerialNumber":"999999"}`, http.StatusNotFound, "Device could not be found from the data submitted"},
		{"unknown room", `{"department":"emergency department","room":"999"}`, http.StatusNotFound, "Device could not be found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, solosim.Options{}, 0)
			res, err := e.c.Deliver(context.Background(), assistDelivery(t, tc.body, "", connectors.Create, true))
			if tc.status != 0 {
				wantStatus(t, err, tc.status, connectors.Permanent)
				var se *StatusError
				if errors.As(err, &se); !strings.Contains(se.Message, tc.reason) {
					t.Fatalf("reason %q, want Solo's %q", se.Message, tc.reason)
				}
				if strings.Contains(err.Error(), "999") {
					t.Fatalf("error carries a submitted value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.sim.AssistanceRequests()
			if len(reqs) != 1 || res.VendorID != reqs[0].ID {
				t.Fatalf("vendor id %q, sim has %+v", res.VendorID, reqs)
			}
			if res.Attributes["device"] != reqs[0].Device || res.Attributes["status"] != "incomplete" ||
				res.Attributes["careLocation"] == "" || res.Attributes["createdAt"] == "" || res.Attributes["finishedAt"] != "" {
				t.Fatalf("attributes %v", res.Attributes)
			}
		})
	}
}

// TestAssistanceLifecycle: a retried create adopts the current request,
// an update sends nothing, a cancel cancels it (twice is harmless), and a
// Task cancelled before delivery sends nothing.
func TestAssistanceLifecycle(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 0)
	ctx := context.Background()
	const addr = `{"building":"hospital","floor":"floor 2","room":"431"}`
	res, err := e.c.Deliver(ctx, assistDelivery(t, addr, "", connectors.Create, true))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.c.Deliver(ctx, assistDelivery(t, addr, "", connectors.Create, false))
	if err != nil || again.VendorID != res.VendorID || len(e.sim.AssistanceRequests()) != 1 {
		t.Fatalf("retried create: %v %q, %d requests", err, again.VendorID, len(e.sim.AssistanceRequests()))
	}
	if up, err := e.c.Deliver(ctx, assistDelivery(t, addr, res.VendorID, connectors.Update, true)); err != nil || up.VendorID != res.VendorID {
		t.Fatalf("update: %v %+v", err, up)
	}
	cur, found, err := e.c.CurrentAssistance(ctx, DeviceAddress("123457"))
	if err != nil || !found || cur.ID != res.VendorID || cur.CareLocationName != "ICC-CL-01-02" {
		t.Fatalf("current: %v %v %+v", err, found, cur)
	}
	cancel := `{"building":"hospital","floor":"floor 2","room":"431","cancel":true}`
	for i := range 2 {
		out, err := e.c.Deliver(ctx, assistDelivery(t, cancel, res.VendorID, connectors.Update, true))
		if err != nil || out.Attributes["status"] != "cancelled" {
			t.Fatalf("cancel %d: %v %+v", i, err, out)
		}
	}
	if r := e.sim.AssistanceRequests()[0]; !r.Cancelled {
		t.Fatalf("not cancelled at Solo: %+v", r)
	}
	if _, found, err := e.c.CurrentAssistance(ctx, DeviceAddress("123457")); err != nil || found {
		t.Fatalf("current after cancel: %v %v", err, found)
	}
	if out, err := e.c.Deliver(ctx, assistDelivery(t, `{"deviceSerialNumber":"123458","cancel":true}`, "", connectors.Create, true)); err != nil || out.VendorID != "" {
		t.Fatalf("cancel before delivery: %v %+v", err, out)
	}
	if n := len(e.sim.AssistanceRequests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	_, err = e.c.Deliver(ctx, assistDelivery(t, `{"cancel":true}`, "x", connectors.Update, true))
	if c, _ := connectors.Classify(err); err == nil || c != connectors.Permanent {
		t.Fatalf("no address: %v", err)
	}
}

// TestAssistanceStatusHook: the simulator's status change and finish show
// in the current request, and a finished one is no longer current.
func TestAssistanceStatusHook(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 0)
	ctx := context.Background()
	a, err := e.c.CreateAssistance(ctx, DeviceAddress("123457"))
	if err != nil {
		t.Fatal(err)
	}
	if !e.sim.SetAssistanceStatus(a.ID, "in progress", false) {
		t.Fatal("hook did not find the request")
	}
	cur, found, err := e.c.CurrentAssistance(ctx, DeviceAddress("123457"))
	if err != nil || !found || cur.Status != "in progress" || cur.FinishedAt != "" {
		t.Fatalf("current: %v %v %+v", err, found, cur)
	}
	e.sim.SetAssistanceStatus(a.ID, "completed", true)
	if _, found, err := e.c.CurrentAssistance(ctx, DeviceAddress("123457")); err != nil || found {
		t.Fatalf("finished request still current: %v %v", err, found)
	}
	if ok, err := e.c.CancelAssistance(ctx, DeviceAddress("123457")); err != nil || ok {
		t.Fatalf("cancel without current request: %v %v", ok, err)
	}
}

func TestParseAssistance(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     AssistanceRequest
		err      bool
	}{
		{"spec example", `{"id":"f8","device":"123457","careLocation":{"id":"29","name":"ICC"},"status":"incomplete","createdAt":"2024-03-28T12:02:05+00:00","finishedAt":null,"patient":{"firstName":"Yura"}}`,
			AssistanceRequest{ID: "f8", Device: "123457", Status: "incomplete", CareLocationID: "29", CareLocationName: "ICC", CreatedAt: "2024-03-28T12:02:05+00:00"}, false},
		{"no id", `{"device":"1"}`, AssistanceRequest{}, true},
		{"not JSON", `<html>`, AssistanceRequest{}, true},
		{"too large", `{"id":"` + strings.Repeat("x", maxAssistanceAnswer) + `"}`, AssistanceRequest{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAssistance([]byte(tc.in))
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("got %+v, %v", got, err)
			}
			if err != nil && (!errors.Is(err, ErrBadAnswer) || strings.Contains(err.Error(), "Yura")) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

func FuzzParseAssistance(f *testing.F) {
	f.Add([]byte(`{"id":"f8","device":"1","careLocation":{"id":"2","name":"n"},"status":"incomplete","createdAt":"2024-03-28T12:02:05+00:00","finishedAt":null}`))
	f.Add([]byte(`{"careLocation":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAssistance(data)
		if err == nil && a.ID == "" {
			t.Fatal("accepted an answer without id")
		}
	})
}

func TestCheckAssistanceTask(t *testing.T) {
	for _, tc := range []struct {
		name, task string
		ok         bool
	}{
		{"location", `{"resourceType":"Task","status":"requested","location":{"reference":"Location/b"}}`, true},
		{"device in focus", `{"resourceType":"Task","status":"requested","focus":{"reference":"Device/d"}}`, true},
		{"device as owner", `{"resourceType":"Task","status":"requested","owner":{"reference":"Device/d"}}`, true},
		{"nothing", `{"resourceType":"Task","status":"requested","description":"CANARY-name"}`, false},
		{"entered-in-error is not checked", `{"resourceType":"Task","status":"entered-in-error"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAssistanceTask(body(t, tc.task))
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok %v", err, tc.ok)
			}
			var oo *fhir.OperationOutcome
			if err != nil && (!errors.As(err, &oo) || !strings.Contains(err.Error(), "Task.location") || strings.Contains(err.Error(), "CANARY")) {
				t.Fatalf("outcome %v", err)
			}
		})
	}
}
