package solo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func TestFailureClasses(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name     string
		fault    solosim.Fault
		key      string
		body     string // patient body instead of the valid one
		class    connectors.Class
		wait     time.Duration // expected Retry-After (±2s for dates)
		contains string
	}{
		{name: "503", fault: solosim.Fault{Status: 503}, class: connectors.Transient, contains: "503"},
		{name: "503 Retry-After seconds", fault: solosim.Fault{Status: 503, RetryAfter: "120"}, class: connectors.Transient, wait: 2 * time.Minute},
		{name: "429 Retry-After seconds", fault: solosim.Fault{Status: 429, RetryAfter: "120"}, class: connectors.Transient, wait: 2 * time.Minute},
		{name: "429 Retry-After HTTP-date", fault: solosim.Fault{Status: 429, RetryAfter: date}, class: connectors.Transient, wait: 90 * time.Second},
		{name: "429 Retry-After capped", fault: solosim.Fault{Status: 429, RetryAfter: "999999"}, class: connectors.Transient, wait: MaxRetryAfter},
		{name: "500", fault: solosim.Fault{Status: 500}, class: connectors.Transient},
		{name: "408", fault: solosim.Fault{Status: 408}, class: connectors.Transient},
		{name: "401 bad key", key: "wrong-key", class: connectors.Reconnect, contains: "401"},
		{name: "403", fault: solosim.Fault{Status: 403}, class: connectors.Reconnect},
		{name: "422", fault: solosim.Fault{Status: 422}, class: connectors.Permanent, contains: "422"},
		{name: "400 deceased rule", body: `{"deceased":true}`, class: connectors.Permanent, contains: "fields: deceasedAt"},
		{name: "connection reset", fault: solosim.Fault{Reset: true}, class: connectors.Transient},
		{name: "slow answer past timeout", fault: solosim.Fault{Status: 200, Delay: 2 * time.Second}, class: connectors.Transient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, solosim.Options{}, 500*time.Millisecond)
			if c.fault != (solosim.Fault{}) {
				c.fault.Path = "/qapi/v1/patients"
				e.sim.Inject(c.fault)
			}
			conn := e.c
			if c.key != "" {
				conn = mustNew(t, Config{BaseURL: e.srv.URL, APIKey: Secret(c.key)})
			}
			d := patientCreate(t, true)
			if c.body != "" {
				d.Body = body(t, c.body)
			}
			_, err := conn.Deliver(context.Background(), d)
			if err == nil {
				t.Fatal("want an error")
			}
			class, wait := connectors.Classify(err)
			if class != c.class {
				t.Errorf("class %v, want %v (%v)", class, c.class, err)
			}
			if d := wait - c.wait; d < -2*time.Second || d > 0 || (c.wait == 0 && wait != 0) {
				t.Errorf("wait %v, want %v", wait, c.wait)
			}
			if !strings.Contains(err.Error(), c.contains) || strings.Contains(err.Error(), "CANARY") {
				t.Errorf("message %q: want %q and no patient value", err, c.contains)
			}
			if !strings.Contains(err.Error(), "delivering solo/patient create of Patient/pat-1") {
				t.Errorf("message %q lacks the action phrase", err)
			}
			if len(e.sim.Patients()) != 0 {
				t.Errorf("a failed create must not be applied")
			}
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now = func() time.Time { return fixed }
	defer func() { now = time.Now }()
	cases := map[string]time.Duration{
		"":     0,
		"120":  2 * time.Minute,
		"0":    0,
		"-5":   0,
		"soon": 0,
		"7200": MaxRetryAfter,
		fixed.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		fixed.Add(-time.Hour).Format(http.TimeFormat):       0,
		fixed.Add(48 * time.Hour).Format(http.TimeFormat):   MaxRetryAfter,
	}
	for in, want := range cases {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// PHI and credential canary (RELIABILITY §23): a vendor message that
// echoes submitted values, and the key in config, never reach an error.
func TestCanary(t *testing.T) {
	const key = "KEY-CANARY-5521"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"error":{"code":"E_PARAMS","message":"Bad parameters [mrn: MRN-CANARY-7731 is not valid, lastName: Canaryson]"}}`)
	}))
	defer srv.Close()
	cfg := Config{BaseURL: srv.URL, APIKey: key}
	c := mustNew(t, cfg)
	_, err := c.Deliver(context.Background(), patientCreate(t, true))
	if class, _ := connectors.Classify(err); class != connectors.Permanent {
		t.Fatalf("class %v", class)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "E_PARAMS" || strings.Join(se.Fields, ",") != "mrn,lastName" {
		t.Fatalf("reason not kept: %+v", se)
	}
	js, _ := json.Marshal(cfg)
	outputs := []string{err.Error(), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x", cfg, cfg, cfg, cfg.APIKey, cfg.APIKey, cfg.APIKey), string(js), fmt.Sprintf("%+v", c)}
	for _, out := range outputs {
		if strings.Contains(out, "CANARY") || strings.Contains(out, "Canaryson") {
			t.Errorf("leak: %s", out)
		}
	}
	if !strings.Contains(outputs[1], "[redacted]") || cfg.APIKey.Reveal() != key {
		t.Errorf("redaction: %s", outputs[1])
	}
	var back Config
	if err := json.Unmarshal([]byte(`{"api_key":"k1"}`), &back); err != nil || back.APIKey.Reveal() != "k1" {
		t.Errorf("a secret must load from config text: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{BaseURL: "ftp://solo.example", APIKey: "k"},
		{BaseURL: "file:///etc/passwd", APIKey: "k"},
		{BaseURL: "solo.example", APIKey: "k"},
		{BaseURL: "https://user:pw@solo.example", APIKey: "k"},
		{BaseURL: "https://solo.example"},
		{BaseURL: "https://solo.example", APIKey: "k\nX-Evil: 1"},
		{BaseURL: "https://solo.example", APIKey: "k", Timeout: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "Evil") {
			t.Errorf("error echoes a secret: %v", err)
		}
	}
	if _, err := New(Config{BaseURL: "https://demo.visitnow.org/", APIKey: "k"}); err != nil {
		t.Error(err)
	}
}

func TestRegistered(t *testing.T) {
	f, err := connectors.Lookup(Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []any{Config{BaseURL: "https://x.example", APIKey: "k"}, &Config{BaseURL: "https://x.example", APIKey: "k"}} {
		v, err := f.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.(connectors.Connector); !ok {
			t.Fatalf("%T is not a connectors.Connector", v)
		}
	}
	if _, err := f.New("nope"); err == nil {
		t.Error("a foreign config type must be refused")
	}
}

// TestConnectorPrintsNoKey: the API key never shows when a Connector, a
// copy of one, or a struct holding either is printed.
func TestConnectorPrintsNoKey(t *testing.T) {
	const key = "k-SECRET-1234567890"
	c, err := New(Config{BaseURL: "https://solo.example", APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	holder := struct {
		P *Connector
		V Connector
	}{c, *c}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for name, v := range map[string]any{"pointer": c, "copy": *c, "holder": holder} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, key) || strings.Contains(out, fmt.Sprintf("%x", key)) {
				t.Errorf("%s of the %s shows the key: %s", verb, name, out)
			}
		}
	}
}
