package bandyersim

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCommandServesAndPrintsAConfigThatParses(t *testing.T) {
	cmd := Command()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd.SetContext(ctx)
	out := &syncBuffer{}
	cmd.SetOut(out)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--api-key", "k-123", "--plus-groups", "doctor,nurse", "--immutable-period", "30m"})
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	var text string
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(text, "fhirbridge serve"); text = out.String() {
		if time.Now().After(deadline) {
			t.Fatalf("no config printed: %q", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, section, _ := strings.Cut(text, "# 1. add to your fhirbridge config:\n")
	section, _, _ = strings.Cut(section, "\n# 2.")
	var cfg struct {
		Connectors struct {
			Bandyer struct {
				BaseURL         string            `yaml:"base_url"`
				APIKey          map[string]string `yaml:"api_key"`
				Auth0           bool              `yaml:"auth0"`
				PlusGroups      []string          `yaml:"plus_groups"`
				ImmutablePeriod string            `yaml:"immutable_period"`
				UserHeader      string            `yaml:"user_header"`
				Groups          map[string]string `yaml:"groups"`
				Language        string            `yaml:"language"`
			}
		}
	}
	if err := yaml.UnmarshalWithOptions([]byte(section), &cfg, yaml.Strict()); err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, section)
	}
	b := cfg.Connectors.Bandyer
	d, err := time.ParseDuration(b.ImmutablePeriod)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(b.BaseURL) || b.APIKey["env"] != EnvAPIKey || b.Auth0 ||
		strings.Join(b.PlusGroups, ",") != "doctor,nurse" || err != nil || d != 30*time.Minute ||
		b.UserHeader != DefaultUserHeader || b.Groups["Patient"] != "patient" || b.Groups["Practitioner"] != "doctor" || b.Language != "it" {
		t.Fatalf("config %+v", b)
	}
	if !strings.Contains(text, "export "+EnvAPIKey+"=k-123\n") {
		t.Fatalf("no export line: %s", text)
	}
	// The printed base_url serves the API with the printed key.
	req, _ := http.NewRequest("POST", b.BaseURL+"/teleconsultation", strings.NewReader(`{"participants":{"number":2,"data":[{"userExternalId":"n","groups":["nurse"],"fullName":"N"},`+pat+`]},`+dates+`}`))
	req.Header.Set("Authorization", "Bearer k-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST to the sandbox with a nurse (a configured plus group): %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the command did not stop")
	}
}

func TestParseAuth0Users(t *testing.T) {
	got, err := parseAuth0Users([]string{"auth0|1=doctor", "auth0|2=patient,caregiver"})
	if err != nil || len(got) != 2 || got["auth0|2"].Groups[1] != "caregiver" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"nogroups", "=doctor", "id="} {
		if _, err := parseAuth0Users([]string{bad}); err == nil {
			t.Errorf("%q taken", bad)
		}
	}
}
