package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

func newCheckCmd() *cobra.Command {
	var (
		files  []string
		params []string
	)
	cmd := &cobra.Command{
		Use:   "check [--mapping FILE]... [FILE]...",
		Short: "Validate mapping files without running them",
		Long: `check loads and compiles each mapping file (YAML syntax, unknown keys, FHIRPath
expressions, functions the engine lacks, transforms and their arguments,
lookup code maps, parameters) and prints every problem as file:line:col.
With no file it checks every shipped mapping. Exit status 1 when any fails.`,
		Example: `  fhirbridge check --mapping my-export.yaml
  fhirbridge check mappings/*.yaml --param timezone=America/New_York`,
		RunE: func(cmd *cobra.Command, args []string) error {
			pm, err := parseParams(params)
			if err != nil {
				return err
			}
			targets := append(append([]string{}, files...), args...)
			if len(targets) == 0 {
				targets = shipped.Names()
			}
			failed := 0
			for _, t := range targets {
				if _, err := loadMapping(t, pm); err != nil {
					failed++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s\n", t)
			}
			if failed > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d of %d mappings failed\n", failed, len(targets))
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&files, "mapping", nil, "mapping file or shipped name to check (repeatable)")
	cmd.Flags().StringArrayVar(&params, "param", nil, "run-time parameter NAME=VALUE used while compiling (repeatable)")
	return cmd
}
