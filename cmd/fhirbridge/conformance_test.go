package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/demo"
)

// pendingSample names the modules that do not give a conformance sample
// yet, with why; every other registered module must. The list only
// shrinks.
var pendingSample = map[string]string{}

// TestModuleConformance runs every registered vendor module through what
// the runtime relies on (as River's riverdrivertest does for every
// driver): its config section refuses an unknown key with line:col; its
// sample config passes check --config; its simulator starts and check
// --connect is ok against it, and fails in the vendor's own words on wrong
// credentials without printing them; its sample Bundle posted to serve
// reaches the simulator and the vendor's ids come back onto the stored
// resources (for a module that exports files on a schedule: its export,
// run once, writes the Bundle's records); posting the Bundle again
// changes nothing at the vendor.
func TestModuleConformance(t *testing.T) {
	mods := bridge.Modules()
	if len(mods) == 0 {
		t.Fatal("no module registered")
	}
	for _, m := range mods {
		t.Run(m.Name, func(t *testing.T) {
			if m.Sample == nil {
				if why, ok := pendingSample[m.Name]; ok {
					t.Skip("no sample yet: " + why)
				}
				t.Fatal("the module gives no Sample (bridge.ModuleInfo.Sample)")
			}
			if _, ok := pendingSample[m.Name]; ok {
				t.Errorf("%s gives a sample now: take it off pendingSample", m.Name)
			}
			conformance(t, m.Name, m.Sample())
		})
	}
}

// conformance runs the suite over one module's sample.
func conformance(t *testing.T, name string, s bridge.Sample) {
	sim, err := s.Simulator()
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(sim.Stop)
	for k, v := range s.Env {
		t.Setenv(k, v)
	}
	section := strings.ReplaceAll(s.Section, "$URL", sim.URL)
	for k, v := range sim.Vars {
		section = strings.ReplaceAll(section, k, v)
	}
	checkName := name
	if s.CheckName != "" {
		checkName = s.CheckName
	}
	if len(s.Delivered)+len(s.Exported) == 0 || (len(s.Exported) > 0) != (len(s.Export) > 0 && sim.Holds != nil) {
		t.Fatal("the sample delivers nothing the suite can see: give Delivered, or Export with Exported and a simulator's Holds")
	}
	dir := t.TempDir()
	cfgText := "data_dir: " + filepath.Join(dir, "data") + "\nserver: {listen: \"127.0.0.1:0\"}\nconnectors:\n  " + name + ":\n" +
		demo.Indent(section, "    ") + "routes:\n" + demo.Indent(s.Routes, "  ")
	write := func(file, text string) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write("fhirbridge.yaml", cfgText)
	secrets := func() []string {
		var out []string
		for _, env := range []map[string]string{s.Env, s.WrongEnv} {
			for _, v := range env {
				out = append(out, v)
			}
		}
		return out
	}

	t.Run("unknown key refused with line:col", func(t *testing.T) {
		bad := write("unknown.yaml", strings.Replace(cfgText, "  "+name+":\n", "  "+name+":\n    zz_no_such_key: 1\n", 1))
		_, stderr, code := run(t, "", "check", "--config", bad)
		if code != 1 || !regexp.MustCompile(`\[5:5\] unknown field "zz_no_such_key"`).MatchString(stderr) {
			t.Errorf("exit %d, want 1 and the key at [5:5]:\n%s", code, stderr)
		}
	})
	t.Run("check --config", func(t *testing.T) {
		out, stderr, code := run(t, "", "check", "--config", cfg)
		if code != 0 {
			t.Errorf("exit %d:\n%s%s", code, out, stderr)
		}
	})
	t.Run("check --connect", func(t *testing.T) {
		out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
		if code != 0 || !strings.Contains(out, "ok   "+checkName) {
			t.Errorf("exit %d, want 0 and an ok line for %s:\n%s%s", code, checkName, out, stderr)
		}
	})
	t.Run("check --connect with wrong credentials", func(t *testing.T) {
		for k, v := range s.WrongEnv {
			t.Setenv(k, v)
		}
		out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
		if code != 1 || !strings.Contains(out+stderr, "FAIL "+checkName) || !strings.Contains(out+stderr, s.Refused) {
			t.Errorf("exit %d, want 1 and FAIL %s with %q:\n%s%s", code, checkName, s.Refused, out, stderr)
		}
		for _, secret := range secrets() {
			if strings.Contains(out+stderr, secret) {
				t.Error("a credential was printed")
			}
		}
	})
	t.Run("serve delivers the sample Bundle, once", func(t *testing.T) {
		b := startBridge(t, "connectors:\n  "+name+":\n"+demo.Indent(section, "    ")+"routes:\n"+demo.Indent(s.Routes, "  "))
		first := post(t, b.Base+"/fhir", s.Bundle, 200)
		idName := s.IDName
		if idName == "" {
			idName = "id"
		}
		system := "urn:fhirbridge:" + name + ":" + idName
		for _, ref := range s.Delivered {
			b.Wait(ref+" with the vendor's id", func() bool {
				var res struct {
					Identifier []struct{ System, Value string }
				}
				_ = json.Unmarshal([]byte(send(t, "GET", b.Base+"/fhir/"+ref, "", 200)), &res)
				for _, id := range res.Identifier {
					if id.System == system && id.Value != "" {
						return true
					}
				}
				return false
			})
		}
		if len(s.Export) > 0 {
			out, stderr, code := run(t, "", append(append([]string{}, s.Export...), "--config", b.Config)...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", strings.Join(s.Export, " "), code, out, stderr)
			}
			t.Logf("%s:\n%s", strings.Join(s.Export, " "), out)
			for _, ref := range s.Exported {
				b.Wait(ref+" exported", func() bool { return sim.Holds(ref) })
			}
		}
		calls := sim.Calls()
		if again := post(t, b.Base+"/fhir", s.Bundle, 200); again != first {
			t.Errorf("the re-post got another answer:\n%s\nfirst:\n%s", again, first)
		}
		time.Sleep(500 * time.Millisecond)
		if n := sim.Calls(); n != calls {
			t.Errorf("the re-post made %d more calls at the vendor", n-calls)
		}
		b.Stop()
		b.NoCanary(secrets()...)
	})
}
