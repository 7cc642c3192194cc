package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagUsageHasNoBackQuotes: cobra takes a back-quoted word of a
// flag's usage as the name of its argument (`--mapping fhirbridge
// mappings`), so no flag of any command, the modules' included, has one;
// and map's --mapping reads as a string.
func TestFlagUsageHasNoBackQuotes(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: back quote in usage %q", c.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
	out, _, code := run(t, "", "map", "--help")
	if code != 0 || !strings.Contains(out, "--mapping string ") || !strings.Contains(out, "listed by fhirbridge mappings") {
		t.Errorf("map --help (exit %d) shows --mapping otherwise:\n%s", code, out)
	}
}
