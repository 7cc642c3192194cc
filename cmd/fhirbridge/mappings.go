package main

import (
	"fmt"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

func newMappingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mappings",
		Short: "List the shipped mappings (and show one with `mappings show NAME`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDIRECTION\tSOURCE → TARGET\tDESCRIPTION")
			for _, n := range shipped.Names() {
				p, _ := shipped.Path(n)
				m, err := mapping.Load(shipped.FS, p, nil)
				if err != nil {
					return fmt.Errorf("shipped mapping %s: %w", n, err)
				}
				flow := m.SourceType() + " → " + m.Output()
				dir := "forward"
				if m.Direction() == mapping.Reverse {
					dir = "reverse"
					flow = "vendor record → " + m.ResourceType()
					if m.Input() == "hl7v2" {
						flow = "HL7 v2 message → " + m.ResourceType()
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n, dir, flow, m.Description())
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a shipped mapping's YAML, to start your own from it",
		Long: `show prints the YAML of a shipped mapping exactly as embedded. Saved to a file
it passes "fhirbridge check" unchanged; edit it and pass the file's path to
--mapping to override the shipped one. A code map a mapping reads (a CSV
file it names, VENDOR/NAME.csv) is printed the same way: save it beside your copy.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, ok := shipped.Path(args[0])
			if !ok {
				if _, err := fs.Stat(shipped.FS, args[0]); err != nil || strings.HasSuffix(args[0], ".yaml") {
					return fmt.Errorf("no shipped mapping %q (see fhirbridge mappings)", args[0])
				}
				p = args[0]
			}
			b, err := fs.ReadFile(shipped.FS, p)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	})
	return cmd
}
