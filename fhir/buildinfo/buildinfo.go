// Package buildinfo reports which fhirbridge binary is running: the module
// version, VCS revision, commit time and dirty flag that the Go toolchain
// stamps into a binary built with `go build` inside a git checkout
// (runtime/debug.ReadBuildInfo). Binaries built without VCS data (`go run`,
// `go test`, -buildvcs=false) report "dev" and an empty revision.
package buildinfo

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Info describes the running binary.
type Info struct {
	// Version is the module version ("v1.2.3"), the value set with
	// -ldflags "-X github.com/fhirbridge/fhirbridge/fhir/buildinfo.Version=…",
	// or "dev" when neither is known.
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from; empty when
	// the build had no VCS data.
	Revision string `json:"revision,omitempty"`
	// Time is the commit time (RFC 3339); empty when unknown.
	Time string `json:"time,omitempty"`
	// Modified reports uncommitted changes in the checkout at build time.
	Modified bool `json:"modified"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// Version overrides the module version when set at link time.
var Version = ""

var (
	once sync.Once
	info Info
)

// Get returns the build information of the running binary.
func Get() Info {
	once.Do(func() {
		bi, ok := debug.ReadBuildInfo()
		info = fromBuildInfo(bi, ok, Version)
	})
	return info
}

// fromBuildInfo extracts Info from bi (ok false when no build info exists),
// override taking precedence over the module version.
func fromBuildInfo(bi *debug.BuildInfo, ok bool, override string) Info {
	in := Info{Version: "dev", GoVersion: runtime.Version()}
	if ok && bi != nil {
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		in.Version = override
	}
	return in
}

// Collector returns a gauge fhirbridge_build_info{version,revision,goversion}
// that is always 1, the usual way to expose a build's identity to Prometheus.
func Collector() prometheus.Collector {
	in := Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "fhirbridge_build_info",
		Help: "Always 1; the labels name the running build (module version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{
			"version":   in.Version,
			"revision":  in.Revision,
			"goversion": in.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// Register adds the build-info gauge to reg, doing nothing if it is already
// registered there.
func Register(reg prometheus.Registerer) error {
	if err := reg.Register(Collector()); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return nil
		}
		return fmt.Errorf("register fhirbridge_build_info: %w", err)
	}
	return nil
}
