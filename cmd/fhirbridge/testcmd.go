package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/mapping/casetest"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

func newTestCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run mapping test cases (NAME.cases.yaml beside NAME.yaml)",
		Long: `test runs every *.cases.yaml under DIR (default: the shipped mappings' own
cases). Each case gives an input (a FHIR resource or Bundle, or a vendor record)
and the expected output records, or an expected error. A failing case prints a
field-level diff. Exit status 1 when any case fails.`,
		Example: `  fhirbridge test
  fhirbridge test ./mappings`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var fsys fs.FS = shipped.FS
			label := "shipped"
			if len(args) == 1 {
				fsys = os.DirFS(args[0])
				label = args[0]
			}
			var files []string
			err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && strings.HasSuffix(p, ".cases.yaml") {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("looking for cases in %s: %w", label, err)
			}
			if len(files) == 0 {
				return fmt.Errorf("no *.cases.yaml under %s", label)
			}
			out := cmd.OutOrStdout()
			pass, fail := 0, 0
			for _, f := range files {
				results, err := casetest.Run(fsys, f)
				if err != nil {
					fail++
					fmt.Fprintf(out, "FAIL %s: %v\n", filepath.ToSlash(f), err)
					continue
				}
				for _, r := range results {
					if r.Pass {
						pass++
						if verbose {
							fmt.Fprintf(out, "ok   %s: %s\n", f, r.Name)
						}
						continue
					}
					fail++
					fmt.Fprintf(out, "FAIL %s: %s\n", f, r.Name)
					if r.Err != nil {
						fmt.Fprintf(out, "     %v\n", r.Err)
					}
					for _, d := range r.Diff {
						fmt.Fprintf(out, "     %s\n", d)
					}
				}
			}
			fmt.Fprintf(out, "%d passed, %d failed\n", pass, fail)
			if fail > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing cases too")
	return cmd
}
