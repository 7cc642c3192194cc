package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestServerLimits(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		want    Server // only the limit fields are compared
		wantErr string
	}{
		{name: "absent: zero, the server's defaults apply", yaml: "server: {}\n"},
		{name: "from the file",
			yaml: "server:\n  max_elements: 5000\n  max_array: 50\n  max_decodes: 4\n  decode_wait: 500ms\n  metrics_auth: true\n",
			want: Server{MaxElements: 5000, MaxArray: 50, MaxDecodes: 4, DecodeWait: Duration(500 * time.Millisecond), MetricsAuth: true}},
		{name: "from the environment", yaml: "server: {}\n",
			env:  []string{"FHIRBRIDGE_SERVER__MAX_ELEMENTS=7", "FHIRBRIDGE_SERVER__METRICS_AUTH=true", "FHIRBRIDGE_SERVER__DECODE_WAIT=3s"},
			want: Server{MaxElements: 7, DecodeWait: Duration(3 * time.Second), MetricsAuth: true}},
		{name: "negative", yaml: "server:\n  max_array: -1\n", wantErr: "server.max_array: must not be negative"},
		{name: "negative wait", yaml: "server:\n  decode_wait: -1s\n", wantErr: "server.decode_wait: must not be negative"},
		{name: "unknown key", yaml: "server:\n  max_element: 5\n", wantErr: "max_element"},
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
			s := c.Server
			got := Server{MaxElements: s.MaxElements, MaxArray: s.MaxArray, MaxDecodes: s.MaxDecodes,
				DecodeWait: s.DecodeWait, MetricsAuth: s.MetricsAuth}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
