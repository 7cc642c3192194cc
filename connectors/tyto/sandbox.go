package tyto

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
)

// sandboxCmd is `fhirbridge sandbox tyto`: the TytoCare simulator of a
// Vidyo portal.
func sandboxCmd() *cobra.Command {
	var listen, user, password string
	var unreachable bool
	cmd := &cobra.Command{
		Use:   "tyto [--listen ADDR] [--username U] [--password P] [--tyto-unreachable]",
		Short: "Run the TytoCare (Vidyo portal) simulator",
		Long: `tyto runs a simulator of the TytoCare REST APIs of a Vidyo portal: stations
(create, retrieve), device pairing, clinicians (create or update) and visits.
It answers every error of the spec's table with its status and message: 409
station already exists, 400 unsupported characters or a visit identifier over
140 characters, 422/405/500/404 for empty identifiers, 404 for a station or
clinician that does not exist, 401 for wrong credentials, and 408 for every
call with --tyto-unreachable (the portal cannot reach the Tyto server).
Point a tenant's connectors.tyto.tenants.NAME.portal_url at the address it
prints. It keeps no data between runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sim := tytosim.New(tytosim.Options{Username: user, Password: password})
			sim.SetTytoReachable(!unreachable)
			url, err := sim.Start(listen)
			if err != nil {
				return fmt.Errorf("starting the tyto simulator: %w", err)
			}
			defer sim.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "Tyto simulator on %s (user %q; API under %s); Ctrl-C stops it\n", url, user, tytosim.DefaultPrefix)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8091", "address to listen on")
	cmd.Flags().StringVar(&user, "username", tytosim.DefaultUsername, "the user name the simulator accepts")
	cmd.Flags().StringVar(&password, "password", tytosim.DefaultPassword, "the password the simulator accepts")
	cmd.Flags().BoolVar(&unreachable, "tyto-unreachable", false, "answer 408 to every call (the portal cannot reach Tyto)")
	return cmd
}
