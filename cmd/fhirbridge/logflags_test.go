package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/config"
)

func TestCommandLogger(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		cfg    config.Log
		json   bool
		debug  bool
		errHas string
	}{
		{name: "defaults", json: false},
		{name: "config json", cfg: config.Log{Format: "json", Level: "debug"}, json: true, debug: true},
		{name: "flags win", args: []string{"--log-format", "text", "--log-level", "info"}, cfg: config.Log{Format: "json", Level: "debug"}},
		{name: "flag json", args: []string{"--log-format=json"}, json: true},
		{name: "bad flag", args: []string{"--log-level=loud"}, errHas: "--log-format/--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			addLogFlags(root)
			var errOut bytes.Buffer
			root.SetErr(&errOut)
			root.SetArgs(tc.args)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			log, err := commandLogger(root, &config.Config{Log: tc.cfg})
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err %v, want %s", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Info("i")
			out := errOut.String()
			if got := strings.Contains(out, `"msg":"d"`) || strings.Contains(out, "msg=d"); got != tc.debug {
				t.Errorf("debug line present=%v, want %v: %s", got, tc.debug, out)
			}
			first := strings.SplitN(out, "\n", 2)[0]
			var m map[string]any
			if isJSON := json.Unmarshal([]byte(first), &m) == nil; isJSON != tc.json {
				t.Errorf("JSON=%v, want %v: %s", isJSON, tc.json, out)
			}
		})
	}
}
