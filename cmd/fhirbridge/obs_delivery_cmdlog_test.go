package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// TestModuleCommandLogger: a module's command (solo webhooks replay,
// tuotempo sincro grant) logs through bridge.CommandConfig.Log, which is
// the process's logger: --log-format/--log-level when given, else the
// configuration's log section.
func TestModuleCommandLogger(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+dir+"\nlog: {format: json, level: warn}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		json, info bool
	}{
		{"config", nil, true, false},
		{"flags win", []string{"--log-format", "text", "--log-level", "info"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := &cobra.Command{Use: "fhirbridge"}
			addLogFlags(root)
			var errOut bytes.Buffer
			sub := &cobra.Command{Use: "replay", RunE: func(cmd *cobra.Command, _ []string) error {
				cc, err := bridge.LoadCommandConfig("solo", cfg)
				if err != nil {
					return err
				}
				log, err := cc.Log(cmd)
				if err != nil {
					return err
				}
				log.Info("an info line")
				log.Warn("a warning")
				return nil
			}}
			root.AddCommand(sub)
			root.SetErr(&errOut)
			root.SetArgs(append([]string{"replay"}, tc.args...))
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			out := errOut.String()
			first := strings.SplitN(out, "\n", 2)[0]
			var m map[string]any
			if isJSON := json.Unmarshal([]byte(first), &m) == nil; isJSON != tc.json {
				t.Errorf("JSON=%v, want %v: %s", isJSON, tc.json, out)
			}
			if got := strings.Contains(out, "an info line"); got != tc.info {
				t.Errorf("info line present=%v, want %v: %s", got, tc.info, out)
			}
			if !strings.Contains(out, "a warning") {
				t.Errorf("no warning line: %s", out)
			}
		})
	}
}
