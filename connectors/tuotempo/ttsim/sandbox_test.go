package ttsim

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/batch/config"
	bookingcfg "github.com/fhirbridge/fhirbridge/connectors/tuotempo/booking"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/sso"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// printedConfig is the shape of the sandbox's config section, decoded
// strictly into the module's own section types and the shared ehr section.
type printedConfig struct {
	Connectors struct {
		Tuotempo struct {
			Online bookingcfg.Config `yaml:"online"`
			SSO    sso.Config        `yaml:"sso"`
		} `yaml:"tuotempo"`
	} `yaml:"connectors"`
	EHR config.EHR `yaml:"ehr"`
}

func TestSandboxPrintsAConfigThatParses(t *testing.T) {
	now := time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC) // a Friday
	sb, err := StartSandbox(SandboxOptions{Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	var out bytes.Buffer
	sb.Print(&out)
	for k, v := range sb.Env() {
		t.Setenv(k, v)
		if !strings.Contains(out.String(), "export "+k+"="+v+"\n") {
			t.Errorf("no export of %s", k)
		}
	}
	var cfg printedConfig
	if err := yaml.UnmarshalWithOptions([]byte(sb.Config()), &cfg, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("the printed config does not parse: %v\n%s", err, sb.Config())
	}
	c := cfg.Connectors.Tuotempo.Online.Centers
	if len(c) != 1 || c[0].LID != SampleCenter || c[0].Token.Reveal() != DefaultCenterToken || c[0].TimeZone != "Europe/Madrid" {
		t.Errorf("centers %+v", c)
	}
	on := &cfg.Connectors.Tuotempo.Online
	on.FillDefaults()
	if err := on.Validate(); err != nil {
		t.Errorf("the printed online section is refused: %v", err)
	}
	ssoCfg := &cfg.Connectors.Tuotempo.SSO
	ssoCfg.FillDefaults()
	if errs := ssoCfg.Validate(); len(errs) > 0 {
		t.Errorf("the printed sso section is refused: %v", errs)
	}
	if ssoCfg.LoginURL != sb.Login.LoginURL() || ssoCfg.DBName != DefaultDBName || ssoCfg.User != DefaultLoginUser || ssoCfg.Password.Reveal() != DefaultLoginPassword {
		t.Errorf("sso %+v", ssoCfg)
	}
	if cfg.EHR.FHIRBaseURL != sb.EHR.URL() {
		t.Errorf("ehr %+v", cfg.EHR)
	}
	if !strings.Contains(out.String(), "--bridge http://127.0.0.1:8080 --transport soap") || !strings.Contains(out.String(), sb.BundlePath) {
		t.Errorf("commands missing:\n%s", out.String())
	}

	// the servers answer on the printed URLs
	form := url.Values{"dbName": {DefaultDBName}}.Encode()
	req, _ := http.NewRequest("POST", ssoCfg.LoginURL, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultLoginUser, DefaultLoginPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, resp)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("GET", cfg.EHR.FHIRBaseURL+"/Slot?status=free&_include=Slot:schedule", nil)
	req.Header.Set("Authorization", "Bearer "+os.Getenv(EnvEHRToken))
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("EHR search: %v %v", err, resp)
	}
	resp.Body.Close()
	if !sb.EHR.Holds("Slot", "sim-slot-20260309-0900") || !sb.EHR.Holds("Schedule", SampleSchedule) || sb.EHR.Holds("Slot", "sim-slot-20260307-0900") {
		t.Errorf("the EHR is not seeded with the weekday slots")
	}
}

func TestSampleBundleIsValidFHIR(t *testing.T) {
	b := SampleBundle(time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC), time.UTC)
	v, err := fhir.Decode(b, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oo := fhir.Validate(v, ""); oo != nil {
		t.Fatalf("the sample Bundle is not valid R4: %+v", oo)
	}
	if n := strings.Count(string(b), `"resourceType": "Slot"`); n != 30 {
		t.Errorf("%d slots, want 5 days × 6", n)
	}
}

func TestCommandBridge(t *testing.T) {
	real := NewCaller
	t.Cleanup(func() { NewCaller = real })
	run := func(args ...string) (string, error) {
		cmd := Command()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	NewCaller = nil
	if _, err := run("--bridge", "http://127.0.0.1:1"); !errors.Is(err, ErrNoClient) {
		t.Errorf("without a client: %v", err)
	}
	f := newFakeOps(time.Now().UTC(), 4)
	var gotBase, gotTransport, gotToken string
	NewCaller = func(base, transport, token string) (Caller, error) {
		gotBase, gotTransport, gotToken = base, transport, token
		return f, nil
	}
	if _, err := run("--bridge", "http://b", "--transport", "ftp"); err == nil || !strings.Contains(err.Error(), "rest or soap") {
		t.Errorf("transport ftp: %v", err)
	}
	out, err := run("--bridge", "http://b", "--transport", "soap", "--token", "t1", "--center", "c1", "--activity", "act-1",
		"--reminders", "--download-code", "CODE1", "--id-number", "X123")
	if err != nil {
		t.Fatalf("scenario: %v\n%s", err, out)
	}
	if gotBase != "http://b" || gotTransport != "soap" || gotToken != "t1" {
		t.Errorf("client for %s %s %s", gotBase, gotTransport, gotToken)
	}
	if !strings.Contains(out, "OK: booked app-1, moved to app-2") || !strings.Contains(out, "getTestResultContent   soap OK") ||
		!strings.Contains(out, "CancelAppointment      soap OK") {
		t.Errorf("output:\n%s", out)
	}
}
