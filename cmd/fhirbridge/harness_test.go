package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// testBridge is serve running in-process for an end-to-end test, on a fresh
// data folder, with a Solo simulator behind it.
type testBridge struct {
	t      *testing.T
	Sim    *solosim.Sim
	SimURL string
	Dir    string // data_dir
	Config string // the config file's path
	Base   string // http://host:port of serve

	mu     sync.Mutex
	logs   strings.Builder
	cancel context.CancelFunc
	done   <-chan error
	once   sync.Once
}

// soloRoutes are the usual routes of the tests: patients and appointments
// to Solo.
const soloRoutes = `routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`

// startBridge writes a config — data_dir, a loopback server unless yaml
// has its own `server:` line, then yaml with $SOLO replaced by the
// simulator's connectors.solo line (API key k-test from the environment)
// ($SIMURL by its URL) and $DIR by the data folder — starts serve on it and
// stops it when the test ends.
func startBridge(t *testing.T, yaml string) *testBridge {
	t.Helper()
	return startBridgeOn(t, solosim.New(solosim.Options{APIKey: "k-test", WaitingRooms: []string{"General Practice", "Telehealth"}}), yaml)
}

// startBridgeOn is startBridge with the given simulator, which must accept
// the API key k-test.
func startBridgeOn(t *testing.T, sim *solosim.Sim, yaml string) *testBridge {
	t.Helper()
	return startBridgeLog(t, sim, yaml, "text")
}

// startBridgeLog is startBridgeOn logging in format (text or json).
func startBridgeLog(t *testing.T, sim *solosim.Sim, yaml, format string) *testBridge {
	t.Helper()
	b := &testBridge{t: t, Sim: sim}
	simSrv := httptest.NewServer(b.Sim)
	t.Cleanup(simSrv.Close)
	b.SimURL = simSrv.URL
	t.Setenv("BRIDGE_SOLO_KEY", "k-test")
	b.Dir = t.TempDir()
	text := "data_dir: " + b.Dir + "\n"
	if !strings.Contains(yaml, "\nserver:") && !strings.HasPrefix(yaml, "server:") {
		text += "server: {listen: \"127.0.0.1:0\"}\n"
	}
	yaml = strings.ReplaceAll(yaml, "$SOLO", `solo: {base_url: "`+simSrv.URL+`", api_key: {env: BRIDGE_SOLO_KEY}}`)
	yaml = strings.ReplaceAll(yaml, "$SIMURL", simSrv.URL)
	text += strings.ReplaceAll(yaml, "$DIR", b.Dir)
	b.Config = filepath.Join(b.Dir, "fhirbridge.yaml")
	if err := os.WriteFile(b.Config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(b.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	log, err := logging.New(lockedWriter{&b.mu, &b.logs}, format, "info")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addr, done, err := app.Start(ctx, c, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	b.Base, b.done = "http://"+addr, done
	t.Cleanup(b.Stop)
	return b
}

// Log returns what serve logged so far.
func (b *testBridge) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logs.String()
}

// Stop stops serve and fails the test if it ended with an error; later
// calls do nothing.
func (b *testBridge) Stop() {
	b.once.Do(func() {
		b.cancel()
		if err := <-b.done; err != nil {
			b.t.Errorf("serve: %v", err)
		}
	})
}

// Wait polls cond for up to 20 s and fails with what and the log.
func (b *testBridge) Wait(what string, cond func() bool) {
	b.t.Helper()
	waitFor(b.t, what, cond, b.Log)
}

// NoCanary fails if the log carries any of values.
func (b *testBridge) NoCanary(values ...string) {
	b.t.Helper()
	log := b.Log()
	for _, v := range values {
		if strings.Contains(log, v) {
			b.t.Errorf("the log carries a patient value or a secret (%q)", v)
		}
	}
}
