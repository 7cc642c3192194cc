package config

import (
	"strings"
	"testing"
	"time"
)

func TestDrainTimeout(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		want    time.Duration
		wantErr string
	}{
		{name: "absent: the default", yaml: "server: {}\n", want: DefaultDrainTimeout},
		{name: "from the file", yaml: "server:\n  drain_timeout: 90s\n", want: 90 * time.Second},
		{name: "from the environment", yaml: "server: {}\n", env: []string{"FHIRBRIDGE_SERVER__DRAIN_TIMEOUT=5s"}, want: 5 * time.Second},
		{name: "the maximum", yaml: "server:\n  drain_timeout: 1h\n", want: time.Hour},
		{name: "negative", yaml: "server:\n  drain_timeout: -1s\n", wantErr: "server.drain_timeout -1s: want 0 (the default, 30s) up to 1h0m0s"},
		{name: "too long", yaml: "server:\n  drain_timeout: 2h\n", wantErr: "server.drain_timeout 2h0m0s"},
		{name: "not a duration", yaml: "server:\n  drain_timeout: soon\n", wantErr: `invalid duration "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(write(t, tt.yaml), tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Server.Drain(); got != tt.want {
				t.Errorf("Drain() = %s, want %s", got, tt.want)
			}
		})
	}
}
