package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/fhir/server"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the bearer tokens of the FHIR endpoint",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "new",
		Short: "Print a new bearer token and the line to put in the config",
		Long: `new prints a random bearer token (32 bytes, base64url) for the EHR's
interface engine, and the SHA-256 hash to add to server.tokens in the config.
Only the hash is stored: keep the token itself in the engine's credential
store. The server accepts any of the configured tokens, so a token is rotated
by adding the new hash, switching the engine, then removing the old hash.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := server.NewToken()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "token (give it to the interface engine; it is not stored): %s\n", tok)
			fmt.Fprintf(out, "config line (server.tokens):\n  - sha256:%s\n", server.HashToken(tok))
			return nil
		},
	})
	cmd.AddCommand(newTokenJWKSCmd())
	return cmd
}
