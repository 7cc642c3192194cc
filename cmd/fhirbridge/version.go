package main

import (
	"fmt"
	"runtime"

	"github.com/fhirbridge/fhirbridge/fhir/buildinfo"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…"; it
// overrides the module version from the build information.
var version = "dev"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the fhirbridge version, VCS revision, commit time and dirty flag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := buildinfo.Get()
			if version != "dev" {
				in.Version = version
			}
			rev := in.Revision
			if rev == "" {
				rev = "unknown (built without VCS data)"
			}
			if in.Modified {
				rev += " (modified)"
			}
			t := in.Time
			if t == "" {
				t = "unknown"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "fhirbridge %s\nrevision: %s\ntime: %s\ngo: %s %s/%s\n",
				in.Version, rev, t, in.GoVersion, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
