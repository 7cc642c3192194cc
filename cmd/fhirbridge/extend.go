package main

import "github.com/spf13/cobra"

// soloCommands are the subcommands of `fhirbridge solo`, and
// importCommands those of `fhirbridge import`, each registered from its
// own file's init.
var soloCommands, importCommands []func() *cobra.Command

// newSoloCmd is `fhirbridge solo`: operations on Teladoc Health Solo.
func newSoloCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "solo",
		Short: "Teladoc Health Solo operations (webhooks, links, ...)",
	}
	for _, mk := range soloCommands {
		cmd.AddCommand(mk())
	}
	return cmd
}

// newImportCmd is `fhirbridge import`: vendor reports into FHIR.
func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import vendor reports into FHIR (files, NDJSON, or the store)",
	}
	for _, mk := range importCommands {
		cmd.AddCommand(mk())
	}
	return cmd
}
