package solomod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// demoKeyFile is the file under the demo's data folder holding the
// simulator's Api-Key, which the demo's config section reads with
// {file: …} (so a kept folder's configuration works as it is).
const demoKeyFile = "solo-api-key"

// demoWait bounds how long a demo step waits for Solo to show a change.
var demoWait = 30 * time.Second

// demo is the Solo module's part of `fhirbridge demo`: the simulator
// behind two routes (patients; appointments in the Telehealth room unless
// mapped to another), what it received and the Solo ids mapped back, and
// later the cancellations of stored Appointments reaching it.
func demo() bridge.Demo {
	return bridge.Demo{
		Summary: "the Solo simulator behind two routes (solo/patient, solo/appointment): what Solo received, the Solo ids mapped back, and later each Appointment cancelled meanwhile (by another module's inbound file) flowing on to Solo",
		Start:   startDemo,
	}
}

// startDemo starts the simulator and writes its Api-Key under dir.
func startDemo(dir string) (*bridge.DemoRun, error) {
	const key = "demo-key"
	keyFile := filepath.Join(dir, demoKeyFile)
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		return nil, fmt.Errorf("writing the demo's Solo Api-Key file: %w", err)
	}
	sim := solosim.New(solosim.Options{APIKey: key, WaitingRooms: []string{"General Practice", "Dermatology", "Telehealth"}})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the Solo simulator: %w", err)
	}
	return &bridge.DemoRun{
		Where:   "Solo simulator on " + url,
		Section: fmt.Sprintf("base_url: %q\napi_key: {file: %q}\n", url, keyFile),
		Routes: `- {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
- {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`,
		Steps: []bridge.DemoStep{
			{Stage: bridge.DemoDelivered, Run: func(context.Context, *bridge.DemoEnv) (string, error) { return demoReceived(sim), nil }},
			{Stage: bridge.DemoDelivered, Run: func(ctx context.Context, env *bridge.DemoEnv) (string, error) {
				return demoMappedBack(ctx, env.Store, sim)
			}},
			{Stage: bridge.DemoAfter, Run: func(ctx context.Context, env *bridge.DemoEnv) (string, error) {
				return demoCancelled(ctx, env.Store, sim)
			}},
		},
		Stop: func() { _ = sim.Close() },
	}, nil
}

// demoReceived is the simulator's request log (methods, paths, statuses).
func demoReceived(sim *solosim.Sim) string {
	var b strings.Builder
	b.WriteString("What Solo received (the simulator's request log; bodies are not logged):\n")
	for _, r := range sim.Requests() {
		fmt.Fprintf(&b, "   %s %-45s → %d\n", r.Method, r.Path, r.Status)
	}
	return b.String()
}

// demoMappedBack lists the Solo ids of the simulator's records, after
// checking that every stored Patient and Appointment got its Solo id back
// (the queue has settled: a missing id is a failed delivery).
func demoMappedBack(ctx context.Context, st *store.Store, sim *solosim.Sim) (string, error) {
	var missing []string
	for _, typ := range []string{"Patient", "Appointment"} {
		err := st.Current(ctx, typ, func(id string, _ int, _ []byte) error {
			_, err := st.VendorID(ctx, solo.Name, typ, id)
			if errors.Is(err, store.ErrNotFound) {
				missing = append(missing, typ+"/"+id) // a FHIR reference, not a URL path
				return nil
			}
			return err
		})
		if err != nil {
			return "", fmt.Errorf("reading the Solo ids of the stored %s resources: %w", typ, err)
		}
	}
	var b strings.Builder
	b.WriteString("Solo ids mapped back:\n")
	for _, p := range sim.Patients() {
		fmt.Fprintf(&b, "   Patient/%s → Solo patient SPID %d\n", p.ID, p.SPID)
	}
	for _, a := range sim.Appointments() {
		fmt.Fprintf(&b, "   Appointment/%s → Solo appointment SAID %d (waiting room %q, duration %d s, visit link %s)\n", a.ExternalID, a.SAID, a.WaitingRoom, a.Duration, a.VisitURL)
	}
	if len(missing) > 0 {
		return b.String(), fmt.Errorf("deliveries incomplete: no Solo id for %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// demoCancelled waits until every stored Appointment whose status is
// cancelled is cancelled at Solo too; "" when none is cancelled.
func demoCancelled(ctx context.Context, st *store.Store, sim *solosim.Sim) (string, error) {
	var cancelled []string
	err := st.Current(ctx, "Appointment", func(id string, _ int, body []byte) error {
		var a struct{ Status string }
		if err := json.Unmarshal(body, &a); err != nil {
			return fmt.Errorf("Appointment/%s: %w", id, err)
		}
		if a.Status == "cancelled" {
			cancelled = append(cancelled, id)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading the stored Appointments: %w", err)
	}
	if len(cancelled) == 0 {
		return "", nil
	}
	deadline := time.Now().Add(demoWait)
	for {
		missing := notCancelledAtSolo(sim, cancelled)
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the cancellation of Appointment/%s did not reach Solo within %s", strings.Join(missing, ", Appointment/"), demoWait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	refs := "Appointment/" + strings.Join(cancelled, ", Appointment/")
	if len(cancelled) == 1 {
		return fmt.Sprintf("The cancellation flowed on to Solo: %s is now \"cancelled\" there (PUT /qapi/v1/appointments/{id}).\n", refs), nil
	}
	return fmt.Sprintf("The cancellations flowed on to Solo: %s are now \"cancelled\" there (PUT /qapi/v1/appointments/{id}).\n", refs), nil
}

// notCancelledAtSolo lists the ids of ids (Appointment externalIds) the
// simulator does not hold as cancelled.
func notCancelledAtSolo(sim *solosim.Sim, ids []string) []string {
	done := map[string]bool{}
	for _, a := range sim.Appointments() {
		if a.Status == "cancelled" {
			done[a.ExternalID] = true
		}
	}
	var out []string
	for _, id := range ids {
		if !done[id] {
			out = append(out, id)
		}
	}
	return out
}
