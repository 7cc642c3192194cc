package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solomod"
)

func write(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fhirbridge.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const token = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

func TestDefaultsWithoutFile(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:8080" || c.Database.URL.Reveal() != "sqlite://fhirbridge-data/fhirbridge.db" || c.Server.BodyLimit != 10<<20 {
		t.Errorf("defaults: %+v", c)
	}
	if time.Duration(c.Delivery.StallAfter) != 5*time.Minute {
		t.Errorf("delivery.stall_after default = %v, want 5m", time.Duration(c.Delivery.StallAfter))
	}
	if c.Delivery.Concurrency != 4 {
		t.Errorf("delivery.concurrency default = %d, want 4", c.Delivery.Concurrency)
	}
	if c, err := Load("", []string{"FHIRBRIDGE_DELIVERY__STALL_AFTER=10m"}); err != nil || time.Duration(c.Delivery.StallAfter) != 10*time.Minute {
		t.Errorf("FHIRBRIDGE_DELIVERY__STALL_AFTER=10m: %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Setenv("SOLO_KEY_FOR_TEST", "from-env-ref")
	p := write(t, "connectors:\n  solo:\n    base_url: https://solo.example\n    api_key: {env: SOLO_KEY_FOR_TEST}\n")
	c, err := Load(p, []string{
		"FHIRBRIDGE_CONNECTORS__SOLO__BASE_URL=https://override.example",
		"FHIRBRIDGE_SERVER__LISTEN=0.0.0.0:9443",
		"FHIRBRIDGE_SERVER__TOKENS=" + token,
		"FHIRBRIDGE_SERVER__BODY_LIMIT=2048",
		"FHIRBRIDGE_CONNECTORS__SOLO__TIMEOUT=5s",
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := soloOf(c)
	if s.BaseURL != "https://override.example" || c.Server.Listen != "0.0.0.0:9443" || len(c.Server.Tokens) != 1 || c.Server.BodyLimit != 2048 || time.Duration(s.Timeout) != 5*time.Second {
		t.Errorf("overrides not applied: %+v %+v", c.Server, s)
	}
	if s.APIKey.Reveal() != "from-env-ref" {
		t.Errorf("secret from {env:} not resolved")
	}
	// a section absent from the file is created by an override
	c, err = Load("", []string{"FHIRBRIDGE_CONNECTORS__SOLO__BASE_URL=https://x.example", "FHIRBRIDGE_CONNECTORS__SOLO__API_KEY=k-123"})
	if err != nil || soloOf(c) == nil || soloOf(c).APIKey.Reveal() != "k-123" {
		t.Fatalf("override-only connector: %v", err)
	}
}

// soloOf is the connectors.solo section of c, the Solo module's own
// struct; nil when absent.
func soloOf(c *Config) *solomod.Config {
	s, _ := c.ConnectorSection("solo").(*solomod.Config)
	return s
}

func TestSecretsPrintRedacted(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("CANARY-SECRET-77\n"), 0o600)
	p := write(t, "connectors:\n  solo:\n    base_url: https://solo.example\n    api_key: {file: "+keyFile+"}\n")
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if soloOf(c).APIKey.Reveal() != "CANARY-SECRET-77" {
		t.Fatalf("file secret not read")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if out := fmt.Sprintf(verb, soloOf(c)); strings.Contains(out, "CANARY") {
			t.Errorf("%s printed the secret: %s", verb, out)
		}
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"unknown key, with its line", "server:\n  listen: 127.0.0.1:1\n  colour: blue\n", "[3:3]"},
		{"a secret written in the file", "connectors:\n  solo:\n    base_url: https://s.example\n    api_key: plain-text\n", "values are not written in the config file"},
		{"no token off loopback", "server:\n  listen: 0.0.0.0:8080\n", "only listens on loopback"},
		{"malformed token hash", "server:\n  tokens: [abc]\n", "server.tokens[0]"},
		{"bad database url", "database:\n  url: mysql://x\n", "database.url"},
		{"route without mapping", "routes:\n  - {name: r1, resource: Patient, connector: solo}\n", "routes[0]"},
		{"bad duration", "connectors:\n  solo:\n    base_url: https://s.example\n    timeout: soon\n", "invalid duration"},
		{"mutual TLS without a certificate", "server:\n  tls: {client_ca_file: ca.pem}\n", "client_ca_file"},
		{"bad mail tls", "mail: {host: smtp.example, from: a@example.org, tls: ssl}\n", "mail.tls"},
		{"bad ehr url", "ehr: {fhir_base_url: ftp://ehr}\n", "ehr.fhir_base_url"},
		{"negative reference wait", "routes:\n  - {name: r1, resource: Appointment, mapping: m, connector: solo, reference_wait: -1h}\n", "reference_wait"},
		{"stall threshold within the attempt timeout", "delivery: {stall_after: 90s}\n", "delivery.stall_after"},
		{"dead_after under three heartbeats", "cluster: {heartbeat: 5s, dead_after: 10s}\n", "at least three heartbeats"},
		{"heartbeat too fast", "cluster: {heartbeat: 10ms}\n", "at least 100ms"},
		{"bad delivery rate", "delivery:\n  vendors:\n    solo: {rate: 10/day}\n", "delivery.vendors.solo.rate: rate \"10/day\": the unit must be"},
		{"negative delivery concurrency", "delivery: {concurrency: -1}\n", "delivery.concurrency"},
		{"vendor burst without a rate", "delivery:\n  vendors:\n    solo: {burst: 5}\n", "delivery.vendors.solo: burst without a rate"},
		{"flow concurrency zero", "delivery:\n  flows:\n    solo/patient: {concurrency: 0}\n", "delivery.flows.solo/patient"},
		{"unknown delivery vendor key", "delivery:\n  vendors:\n    solo: {rps: 3}\n", "rps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(write(t, c.src), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Load("", []string{"FHIRBRIDGE_SERVER__LISTN=x"}); err == nil || !strings.Contains(err.Error(), "FHIRBRIDGE_SERVER__LISTN") {
		t.Errorf("a misspelt override must be refused: %v", err)
	}
	if _, err := Load("", []string{"FHIRBRIDGE_REQUIRE_POSTGRES=1", "FHIRBRIDGE_CONFIG=x"}); err != nil {
		t.Errorf("a variable outside every config section is not ours to refuse: %v", err)
	}
}

// TestDeliveryLimits: the delivery section's limits reach the runner's
// options as written; limits that cannot hold are refused naming their
// path.
func TestDeliveryLimits(t *testing.T) {
	perMin := func(n int) delivery.Rate { return delivery.Rate{N: n, Per: time.Minute} }
	perSec := func(n int) delivery.Rate { return delivery.Rate{N: n, Per: time.Second} }
	cases := []struct {
		name, src string
		conc      int
		vendors   map[string]delivery.Limit
		flows     map[string]delivery.Limit
		err       string // a refusal containing this
	}{
		{name: "vendors and a flow's concurrency",
			src:     "delivery:\n  concurrency: 6\n  vendors:\n    solo: {concurrency: 2, rate: 600/min, burst: 5}\n    vsee: {rate: 3/s}\n  flows:\n    solo/appointment: {concurrency: 1}\n",
			conc:    6,
			vendors: map[string]delivery.Limit{"solo": {Concurrency: 2, Rate: perMin(600), Burst: 5}, "vsee": {Rate: perSec(3)}},
			flows:   map[string]delivery.Limit{"solo/appointment": {Concurrency: 1}}},
		{name: "a flow's rate and burst",
			src:     "delivery:\n  flows:\n    solo/patient: {rate: 600/min, burst: 20}\n    solo/appointment: {concurrency: 2, rate: 5/s}\n    r1: {rate: 5/10s}\n",
			conc:    4,
			vendors: map[string]delivery.Limit{},
			flows: map[string]delivery.Limit{"solo/patient": {Rate: perMin(600), Burst: 20}, "solo/appointment": {Concurrency: 2, Rate: perSec(5)},
				"r1": {Rate: delivery.Rate{N: 5, Per: 10 * time.Second}}}},
		{name: "a flow named like a vendor keeps its own limits",
			src:     "delivery:\n  vendors:\n    solo: {rate: 10/s}\n  flows:\n    solo: {rate: 1/s}\n",
			conc:    4,
			vendors: map[string]delivery.Limit{"solo": {Rate: perSec(10)}},
			flows:   map[string]delivery.Limit{"solo": {Rate: perSec(1)}}},
		{name: "flow burst without a rate", src: "delivery:\n  flows:\n    solo/patient: {concurrency: 2, burst: 5}\n",
			err: "delivery.flows.solo/patient: burst without a rate"},
		{name: "flow setting no limit", src: "delivery:\n  flows:\n    solo/patient: {concurrency: 0}\n",
			err: "delivery.flows.solo/patient: sets no limit"},
		{name: "flow with an empty section", src: "delivery:\n  flows:\n    r1: {}\n",
			err: "delivery.flows.r1: sets no limit"},
		{name: "negative flow concurrency", src: "delivery:\n  flows:\n    r1: {concurrency: -1, rate: 1/s}\n",
			err: "delivery.flows.r1: concurrency and burst must be from 0"},
		{name: "flow burst over the bound", src: "delivery:\n  flows:\n    r1: {rate: 1/s, burst: 10001}\n",
			err: "delivery.flows.r1: concurrency and burst must be from 0 (the default) to 10000"},
		{name: "flow rate with a bad unit", src: "delivery:\n  flows:\n    r1: {rate: 10/day}\n",
			err: `delivery.flows.r1.rate: rate "10/day": the unit must be s, min or h`},
		{name: "flow rate of zero", src: "delivery:\n  flows:\n    r1: {rate: 0/s}\n",
			err: `delivery.flows.r1.rate: rate "0/s": the count must be a whole number from 1`},
		{name: "flow rate not a string", src: "delivery:\n  flows:\n    r1: {rate: [1]}\n",
			err: "delivery.flows.r1.rate: want a string such as 10/s"},
		{name: "vendor rate with a bad unit", src: "delivery:\n  vendors:\n    solo: {rate: 10/week, burst: 3}\n",
			err: `delivery.vendors.solo.rate: rate "10/week": the unit must be s, min or h`},
		{name: "unknown flow key", src: "delivery:\n  flows:\n    r1: {rps: 3}\n",
			err: "rps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(write(t, c.src), nil)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n, vendors, flows := cfg.Delivery.DeliveryOptions()
			if n != c.conc || !reflect.DeepEqual(vendors, c.vendors) || !reflect.DeepEqual(flows, c.flows) {
				t.Errorf("DeliveryOptions() = %d, %+v, %+v; want %d, %+v, %+v", n, vendors, flows, c.conc, c.vendors, c.flows)
			}
		})
	}
	if c, err := Load("", []string{"FHIRBRIDGE_DELIVERY__CONCURRENCY=9"}); err != nil || c.Delivery.Concurrency != 9 {
		t.Errorf("FHIRBRIDGE_DELIVERY__CONCURRENCY=9: %v", err)
	}
}

// FuzzConfig: any file content is refused or accepted, never a panic, and
// an accepted config passed validation.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("server:\n  listen: 127.0.0.1:1\n"))
	f.Add([]byte("connectors:\n  solo: {base_url: https://s.example, api_key: {file: /nonexistent}}\nroutes: [{name: a, resource: Patient, mapping: m, connector: solo}]\n"))
	f.Add([]byte("&a [*a, *a]"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Skip()
		}
		c, err := Load(p, nil)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Load accepted a config that does not validate: %v", verr)
			}
		}
	})
}
