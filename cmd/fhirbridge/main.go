// Command fhirbridge connects an EHR's FHIR R4 feed to telehealth vendors:
// declarative mappings turn FHIR resources into each vendor's records and
// vendor records back into FHIR. Run `fhirbridge --help` for the commands.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	_ "github.com/fhirbridge/fhirbridge/connectors/all" // every vendor module and remote kind
)

// exitError carries an exit status for errors already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		code, reported := exitStatus(err)
		if !reported {
			fmt.Fprintln(os.Stderr, "fhirbridge:", err)
		}
		os.Exit(code)
	}
}

// exitStatus is the exit status of a command's error err, and whether the
// command reported it already (exitError, a module's bridge.ExitError);
// any other error is printed and ends with status 2.
func exitStatus(err error) (code int, reported bool) {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code, true
	}
	var me bridge.ExitError
	if errors.As(err, &me) {
		return me.Code, true
	}
	return 2, false
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "fhirbridge",
		Short: "FHIR R4 bridge to telehealth vendors",
		Long: `fhirbridge maps FHIR R4 Patient, Appointment and Encounter resources into the
formats of telehealth vendors with declarative YAML mappings, and maps what
vendors send back (cancellation files, reports) into FHIR.

Vendors (each configured under connectors.NAME):
` + vendorList() + `
Start with:
  fhirbridge mappings                  # the shipped mappings, VENDOR/NAME each
  fhirbridge mappings show VENDOR/NAME # one of them, as a starting point
  fhirbridge map --mapping VENDOR/NAME --in bundle.json --format csv`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDemoCmd(), newMapCmd(), newValidateCmd(), newServeCmd(), newDeliveriesCmd(), newFilesCmd(), newExportCmd(), newImportCmd(), newSandboxCmd(), newCheckCmd(), newTokenCmd(), newTestCmd(), newMappingsCmd(), newVersionCmd(), newHealthCmd(), newStoreCmd(), newConsoleCmd())
	root.AddCommand(moduleCmds()...)
	addLogFlags(root)
	addModuleSubcommands(root, bridge.Modules())
	return root
}

// vendorList is one line per registered vendor module: its name and summary.
func vendorList() string {
	var b strings.Builder
	for _, m := range bridge.Modules() {
		fmt.Fprintf(&b, "  %-9s %s\n", m.Name, m.Summary)
	}
	return b.String()
}
