package main

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// composeService is the part of a deploy/compose.yaml service the tests
// check.
type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// TestComposeConfig runs `docker-compose config -q` (Debian's
// docker-compose 1.29, which needs no daemon) on deploy/compose.yaml: the
// file is valid, and refused without POSTGRES_PASSWORD. Skipped without
// docker-compose unless FHIRBRIDGE_REQUIRE_COMPOSE=1.
func TestComposeConfig(t *testing.T) {
	compose := lookTool(t, "docker-compose", "FHIRBRIDGE_REQUIRE_COMPOSE", "docker-compose")
	file := filepath.Join(repoRoot(t), "deploy", "compose.yaml")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POSTGRES_") && !strings.HasPrefix(kv, "COMPOSE_") {
			env = append(env, kv)
		}
	}
	config := func(file string, extra ...string) (string, error) {
		cmd := exec.Command(compose, "-f", file, "config", "-q")
		cmd.Env = append(slices.Clone(env), extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := config(file, "POSTGRES_PASSWORD=test-only"); err != nil {
		t.Errorf("docker-compose config: %v\n%s", err, out)
	}
	if out, err := config(file); err == nil || !strings.Contains(out, "POSTGRES_PASSWORD") {
		t.Errorf("docker-compose config without POSTGRES_PASSWORD: %v, want a refusal naming it\n%s", err, out)
	}
	// The tool validates (this check can fail): an unknown key is refused.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(raw), "    stop_grace_period:", "    stop_grace_perod:", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := config(bad, "POSTGRES_PASSWORD=test-only"); err == nil {
		t.Errorf("docker-compose config accepted an unknown key:\n%s", out)
	}
}

// TestComposeFile reads deploy/compose.yaml and checks the deployment it
// describes: PostgreSQL with a health check and its data on a named
// volume; at least two serve replicas on it, each started only once
// PostgreSQL is healthy, with its own health check on /readyz, its own
// data volume and host port, and a stop grace period above the drain
// timeout.
func TestComposeFile(t *testing.T) {
	deploy := filepath.Join(repoRoot(t), "deploy")
	raw, err := os.ReadFile(filepath.Join(deploy, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	// A key beside a merge (<<: *fhirbridge) overrides the merged one; the
	// decoder calls that a duplicate unless allowed.
	if err := yaml.UnmarshalWithOptions(raw, &file, yaml.AllowDuplicateMapKey()); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	declared := func(vol string) bool { _, ok := file.Volumes[vol]; return ok }

	pg, ok := file.Services["postgres"]
	if !ok {
		t.Fatal("no postgres service")
	}
	if !strings.HasPrefix(pg.Image, "postgres:") {
		t.Errorf("postgres image %q", pg.Image)
	}
	if pg.Healthcheck == nil || !strings.Contains(strings.Join(pg.Healthcheck.Test, " "), "pg_isready") {
		t.Errorf("postgres has no pg_isready health check")
	}
	pgData := false
	for _, v := range pg.Volumes {
		name, path, _ := strings.Cut(v, ":")
		if strings.HasPrefix(path, "/var/lib/postgresql/data") && declared(name) {
			pgData = true
		}
	}
	if !pgData {
		t.Errorf("postgres data is not on a declared named volume: %q", pg.Volumes)
	}

	var replicas []string
	dataVols, hostPorts := map[string]string{}, map[string]string{}
	for name, s := range file.Services {
		if !slices.Contains(s.Command, "serve") {
			continue
		}
		replicas = append(replicas, name)
		// compose substitutes ${POSTGRES_PASSWORD} before serve sees it
		dbURL := strings.ReplaceAll(s.Environment["FHIRBRIDGE_DATABASE__URL"], "${POSTGRES_PASSWORD}", "secret")
		if db, err := url.Parse(dbURL); err != nil || db.Scheme != "postgres" {
			t.Errorf("%s: FHIRBRIDGE_DATABASE__URL %q is not a postgres URL", name, s.Environment["FHIRBRIDGE_DATABASE__URL"])
		} else if db.Hostname() != "postgres" || strings.TrimPrefix(db.Path, "/") != pg.Environment["POSTGRES_DB"] || db.User.Username() != pg.Environment["POSTGRES_USER"] {
			t.Errorf("%s: database %s@%s%s, want %s@postgres/%s", name, db.User.Username(), db.Hostname(), db.Path, pg.Environment["POSTGRES_USER"], pg.Environment["POSTGRES_DB"])
		}
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s: does not wait for postgres to be healthy", name)
		}
		_, port, err := net.SplitHostPort(s.Environment["FHIRBRIDGE_SERVER__LISTEN"])
		if err != nil {
			t.Errorf("%s: FHIRBRIDGE_SERVER__LISTEN %q: %v", name, s.Environment["FHIRBRIDGE_SERVER__LISTEN"], err)
		}
		if s.Healthcheck == nil {
			t.Errorf("%s: no health check", name)
		} else if hc := strings.Join(s.Healthcheck.Test, " "); !strings.Contains(hc, " health --url http://127.0.0.1:"+port+"/readyz") {
			t.Errorf("%s: health check %q does not probe /readyz on port %s", name, hc, port)
		}
		for _, v := range s.Volumes {
			src, rest, _ := strings.Cut(v, ":")
			path, _, _ := strings.Cut(rest, ":")
			switch {
			case path == "/var/lib/fhirbridge":
				if !declared(src) {
					t.Errorf("%s: data volume %q is not declared", name, src)
				}
				if other, dup := dataVols[src]; dup {
					t.Errorf("%s and %s share the data volume %s", name, other, src)
				}
				dataVols[src] = name
			case strings.HasPrefix(src, "./"):
				if _, err := os.Stat(filepath.Join(deploy, src)); err != nil {
					t.Errorf("%s: mounts %s: %v", name, src, err)
				}
			}
		}
		for _, p := range s.Ports {
			host, container, _ := strings.Cut(p, ":")
			if container != port {
				t.Errorf("%s: port %s does not reach the listen port %s", name, p, port)
			}
			if other, dup := hostPorts[host]; dup {
				t.Errorf("%s and %s both publish host port %s", name, other, host)
			}
			hostPorts[host] = name
		}
		// server.drain_timeout is absent from deploy/fhirbridge.yaml: 30s.
		if grace, err := time.ParseDuration(s.StopGracePeriod); err != nil || grace <= 30*time.Second {
			t.Errorf("%s: stop_grace_period %q, want above the 30s drain", name, s.StopGracePeriod)
		}
	}
	if len(replicas) < 2 {
		t.Errorf("serve replicas %q, want at least two", replicas)
	}
	if len(dataVols) != len(replicas) {
		t.Errorf("data volumes %v for replicas %q", dataVols, replicas)
	}
}
