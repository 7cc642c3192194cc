package main

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// TestModuleSubcommands: a module's commands go under the shared parent
// they name; a parent other than import or export panics.
func TestModuleSubcommands(t *testing.T) {
	cmds := func(names ...string) func() []*cobra.Command {
		return func() []*cobra.Command {
			var out []*cobra.Command
			for _, n := range names {
				out = append(out, &cobra.Command{Use: n})
			}
			return out
		}
	}
	cases := []struct {
		name      string
		sub       map[string]func() []*cobra.Command
		wantPath  []string
		wantPanic bool
	}{
		{"import", map[string]func() []*cobra.Command{"import": cmds("x-report")}, []string{"import", "x-report"}, false},
		{"export", map[string]func() []*cobra.Command{"export": cmds("x")}, []string{"export", "x"}, false},
		{"a parent not shared", map[string]func() []*cobra.Command{"serve": cmds("x")}, nil, true},
		{"no such parent", map[string]func() []*cobra.Command{"nope": cmds("x")}, nil, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			root := &cobra.Command{Use: "fhirbridge"}
			root.AddCommand(newImportCmd(), newExportCmd(), &cobra.Command{Use: "serve"})
			defer func() {
				if r := recover(); (r != nil) != tt.wantPanic {
					t.Errorf("panic %v, want one: %v", r, tt.wantPanic)
				}
			}()
			addModuleSubcommands(root, []bridge.ModuleInfo{{Name: "x", Subcommands: tt.sub}})
			c, _, err := root.Find(tt.wantPath)
			if err != nil || c.Name() != tt.wantPath[len(tt.wantPath)-1] {
				t.Errorf("%v: found %v (%v)", tt.wantPath, c, err)
			}
		})
	}
}
