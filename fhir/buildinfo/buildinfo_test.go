package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name     string
		bi       *debug.BuildInfo
		ok       bool
		override string
		want     Info
	}{
		{"no build info", nil, false, "", Info{Version: "dev"}},
		{"devel without vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true, "", Info{Version: "dev", GoVersion: "go1.26.8"}},
		{"stamped", stamped, true, "", Info{Version: "v1.4.0", Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}},
		{"override", stamped, true, "v9", Info{Version: "v9", Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi, tt.ok, tt.override)
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = got.GoVersion // the runtime's, whatever it is
				if got.GoVersion == "" {
					t.Error("empty GoVersion")
				}
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRegisterGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := Register(reg); err != nil {
		t.Fatalf("second Register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "fhirbridge_build_info" || len(mfs[0].Metric) != 1 {
		t.Fatalf("gathered %v", mfs)
	}
	m := mfs[0].Metric[0]
	if m.GetGauge().GetValue() != 1 {
		t.Errorf("value %v, want 1", m.GetGauge().GetValue())
	}
	labels := map[string]string{}
	for _, l := range m.Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != Get().Version || !strings.HasPrefix(labels["goversion"], "go") {
		t.Errorf("labels %v", labels)
	}
	if _, ok := labels["revision"]; !ok {
		t.Error("no revision label")
	}
}
