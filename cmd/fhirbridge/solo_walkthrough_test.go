package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solomod"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// readmeBlock returns the fenced yaml between the README markers
// <!-- BEGIN name ... --> and <!-- END name -->.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- BEGIN " + regexp.QuoteMeta(name) + "[^>]*-->\\s*```yaml\\n(.*?)```\\s*<!-- END " + regexp.QuoteMeta(name) + " -->")
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatalf("README.md has no yaml block marked %s", name)
	}
	return string(m[1])
}

// exampleRoutes returns the routes: section of the full example config
// the README points to, as YAML.
func exampleRoutes(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "fixtures", "config", "fhirbridge.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Routes []map[string]any `yaml:"routes"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(map[string]any{"routes": doc.Routes})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// deactivate PUTs Patient/id twice — active, then active false — and
// waits until Solo has it, then has it deactivated.
func deactivate(t *testing.T, b *testBridge, id string) {
	t.Helper()
	patient := func() (solosim.Patient, bool) {
		for _, p := range b.Sim.Patients() {
			if p.ID == id {
				return p, true
			}
		}
		return solosim.Patient{}, false
	}
	body := `{"resourceType":"Patient","id":"` + id + `","active":%s,"name":[{"use":"official","family":"Canarioapellido","given":["Canarionombre"]}],"birthDate":"1971-07-07"}`
	put(t, b.Base+"/fhir/Patient/"+id, strings.Replace(body, "%s", "true", 1), 201)
	b.Wait("the patient created at Solo", func() bool { p, ok := patient(); return ok && p.Active() })
	put(t, b.Base+"/fhir/Patient/"+id, strings.Replace(body, "%s", "false", 1), 200)
	b.Wait("the patient deactivated at Solo", func() bool { p, ok := patient(); return ok && !p.Active() })
	n := 0
	for _, p := range b.Sim.Patients() {
		if p.ID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d patients %s at Solo, want 1 (the deactivation is an update)", n, id)
	}
}

// TestExampleConfigSendsDeactivation: with the routes of the example
// configuration, a Patient PUT again with active false after it was
// created at Solo reaches Solo as a deactivation.
func TestExampleConfigSendsDeactivation(t *testing.T) {
	b := startBridge(t, "connectors:\n  $SOLO\n"+exampleRoutes(t))
	deactivate(t, b, "pat-deact-1")
	b.Stop()
	b.NoCanary("Canarioapellido", "Canarionombre", "1971-07-07")
}

// TestReadmeSoloWalkthrough runs the README's Solo walk-through config
// against the simulator `fhirbridge sandbox solo` runs: every Appointment
// of the demo Bundle is delivered (none dead-lettered for an unknown
// waiting room), and a deactivation reaches Solo.
func TestReadmeSoloWalkthrough(t *testing.T) {
	conf := readmeBlock(t, "solo-walkthrough")
	const simAddr = "http://127.0.0.1:8090" // sandbox solo's default --listen
	if !strings.Contains(conf, simAddr) {
		t.Fatalf("the walk-through config does not point at the sandbox's default address %s", simAddr)
	}
	t.Setenv("SOLO_API_KEY", "k-test")
	b := startBridgeOn(t, solomod.NewSandboxSim("k-test"), strings.ReplaceAll(conf, simAddr, "$SIMURL"))
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct{ ResourceType, ID string } `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "Appointment" {
			want = append(want, e.Resource.ID)
		}
	}
	slices.Sort(want)
	post(t, b.Base+"/fhir", string(raw), 200)
	delivered := func() []string {
		var got []string
		for _, a := range b.Sim.Appointments() {
			got = append(got, a.ExternalID)
		}
		slices.Sort(got)
		return got
	}
	b.Wait("every demo appointment at Solo", func() bool { return slices.Equal(delivered(), want) })
	deactivate(t, b, "pat-deact-2")
	b.Stop()
	out, stderr, code := run(t, "", "deliveries", "list", "--state", "dlq", "--config", b.Config)
	if code != 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("deliveries list --state dlq: exit %d, want no dead letter:\n%s%s", code, out, stderr)
	}
}

// TestSandboxRoomsCoverShippedMapping: every waiting room the shipped
// solo/waiting-rooms.csv can produce is one the sandbox knows.
func TestSandboxRoomsCoverShippedMapping(t *testing.T) {
	data, err := shipped.FS.ReadFile("solo/waiting-rooms.csv")
	if err != nil {
		t.Fatal(err)
	}
	rooms := solosim.DefaultWaitingRooms()
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		_, room, _ := strings.Cut(strings.TrimSpace(line), ",")
		if !slices.Contains(rooms, room) {
			t.Errorf("waiting-rooms.csv row %d: room %q is not one of the sandbox's %q", i+2, room, rooms)
		}
	}
}
