package vseesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--api-key", "k-1", "--api-secret", "s-1", "--admin-token", "adm-1",
		"--availability", "dr1=2026-03-02T09:00:00Z/2026-03-02T10:00:00Z"})
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
			VSee struct {
				BaseURL       string            `yaml:"base_url"`
				PortalBaseURL string            `yaml:"portal_base_url"`
				APIKey        map[string]string `yaml:"api_key"`
				APISecret     map[string]string `yaml:"api_secret"`
				AdminToken    map[string]string `yaml:"admin_token"`
			} `yaml:"vsee"`
		}
	}
	if err := yaml.UnmarshalWithOptions([]byte(section), &cfg, yaml.Strict()); err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, section)
	}
	v := cfg.Connectors.VSee
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(v.BaseURL) || v.PortalBaseURL != v.BaseURL+DefaultPortalPath ||
		v.APIKey["env"] != EnvAPIKey || v.APISecret["env"] != EnvAPISecret || v.AdminToken["env"] != EnvAdminToken {
		t.Fatalf("config %+v", v)
	}
	for _, line := range []string{"export " + EnvAPIKey + "=k-1\n", "export " + EnvAPISecret + "=s-1\n", "export " + EnvAdminToken + "=adm-1\n"} {
		if !strings.Contains(text, line) {
			t.Fatalf("no %q in %s", line, text)
		}
	}
	// The printed base_url serves the API with the printed secrets, and the
	// availability flag is in force.
	post := func(path, body string, hdr ...string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", v.BaseURL+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m struct{ Data map[string]any }
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m.Data
	}
	st, d := post("/users/sso", `{"code":"p1"}`, HeaderAPIKey, "k-1", HeaderAPISecret, "s-1")
	if st != 200 {
		t.Fatalf("sso with the printed secrets: %d", st)
	}
	tok := d["token"].(map[string]any)["token"].(string)
	_, d = post("/intakes", `{}`, HeaderAPIToken, tok)
	in, _ := d["id"].(string)
	if st, _ := post("/visits", `{"intake_id":"`+in+`","start":"2026-03-02T11:00:00Z","provider_id":"dr1"}`, HeaderAPIToken, tok); st != 400 {
		t.Fatalf("a visit outside the flag's slot: %d, want 400", st)
	}
	if st, _ := post("/visits", `{"intake_id":"`+in+`","start":"2026-03-02T09:30:00Z","provider_id":"dr1"}`, HeaderAPIToken, tok); st != 200 {
		t.Fatalf("a visit in the flag's slot: %d, want 200", st)
	}
	if st, _ := post("/visits", `{"intake_id":"`+in+`","start":"2026-03-02T11:00:00Z","provider_id":"dr1"}`, HeaderAPIToken, "adm-1"); st != 200 {
		t.Fatalf("a visit forced with the printed admin token: %d, want 200", st)
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

func TestParseSlot(t *testing.T) {
	// 10:00+01:00 is 09:00Z: an empty slot is refused.
	if _, _, err := ParseSlot("dr1=2026-03-02T09:00:00Z/2026-03-02T10:00:00+01:00"); err == nil {
		t.Fatal("an empty slot taken")
	}
	p, sl, err := ParseSlot("dr1=2026-03-02T09:00:00Z/2026-03-02T10:00:00Z")
	if err != nil || p != "dr1" || !sl.Start.Equal(t0) || !sl.End.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%q %+v %v", p, sl, err)
	}
	for _, bad := range []string{"dr1", "=2026-03-02T09:00:00Z/2026-03-02T10:00:00Z", "dr1=2026-03-02T09:00:00Z",
		"dr1=tomorrow/2026-03-02T10:00:00Z", "dr1=2026-03-02T09:00:00Z/later", "dr1=2026-03-02T10:00:00Z/2026-03-02T09:00:00Z"} {
		if _, _, err := ParseSlot(bad); err == nil || !strings.Contains(err.Error(), "--availability") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
