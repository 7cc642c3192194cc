package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func newValidateCmd() *cobra.Command {
	var (
		in     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "validate --in FILE|-",
		Short: "Validate FHIR R4 input strictly and report every problem",
		Long: `validate reads one resource, a Bundle or NDJSON and checks every resource
against FHIR R4 (google/fhir's R4 parser: unknown elements, malformed
primitives, missing required elements, invalid codes), plus the Bundle's own
rules (type, request of transaction/batch entries, unique fullUrl, urn:uuid
references that resolve). JSON itself is read strictly: duplicate keys and
keys differing only in case are refused.

Each problem is printed with the element path it concerns, e.g.
Bundle.entry[1].resource.Appointment.status, and never with a value from the
resource. --json prints an OperationOutcome per failing entry instead.
Exit status 1 when anything is invalid. The FHIR endpoint's
POST /fhir/{type}/$validate and POST /fhir/$validate (fhirbridge serve) run
the same check and answer the same issues.`,
		Example: `  fhirbridge validate --in fixtures/demo/appointments.json
  fhirbridge validate --in export.ndjson --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return errors.New("validate needs --in (see fhirbridge validate --help)")
			}
			r, _, closeIn, err := openInput(in, cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer closeIn()
			out := cmd.OutOrStdout()
			ok, bad := 0, 0
			report := func(err error) {
				bad++
				if asJSON {
					fmt.Fprintln(out, string(fhir.FromError(err).JSON()))
					return
				}
				fmt.Fprintln(out, "invalid:", strings.ReplaceAll(err.Error(), "\n", "\n    "))
			}
			err = fhir.Read(r, fhir.ReadOptions{Strict: true, OnError: func(_ int, err error) error {
				report(err)
				return nil
			}}, func(e fhir.Entry) error {
				if e.Resource != nil {
					ok++
				}
				return nil
			})
			if err != nil {
				report(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d valid, %d invalid\n", ok, bad)
			if bad > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "input file, or - for standard input")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print an OperationOutcome (JSON) per failing entry")
	return cmd
}
