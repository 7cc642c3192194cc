package config

import (
	"strings"
	"testing"
)

func TestLogSection(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		format     string
		level      string
		err        string
	}{
		{name: "defaults", yaml: "", format: "", level: ""},
		{name: "file", yaml: "log: {format: json, level: debug}\n", format: "json", level: "debug"},
		{name: "env wins over file", yaml: "log: {format: text}\n", env: []string{"FHIRBRIDGE_LOG__FORMAT=json", "FHIRBRIDGE_LOG__LEVEL=warn"}, format: "json", level: "warn"},
		{name: "bad format", yaml: "log: {format: xml}\n", err: "log.format"},
		{name: "bad level", env: []string{"FHIRBRIDGE_LOG__LEVEL=loud"}, err: "log.level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(write(t, tc.yaml), tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Log.Format != tc.format || c.Log.Level != tc.level {
				t.Errorf("log %+v, want format %q level %q", c.Log, tc.format, tc.level)
			}
		})
	}
}
