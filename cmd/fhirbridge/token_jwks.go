package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
)

// newTokenJWKSCmd prints the public JWKS of the EHR write-back's SMART key.
func newTokenJWKSCmd() *cobra.Command {
	var keyFile, alg, kid string
	cmd := &cobra.Command{
		Use:   "jwks",
		Short: "Print the public JWKS of the SMART Backend Services key (ehr.smart)",
		Long: `jwks reads the PEM private key the EHR write-back signs its SMART client
assertions with (ehr.smart.private_key: PKCS#1, PKCS#8 or SEC1) and prints the
JSON Web Key Set of its public half: upload it to the EHR's client registration,
or serve it at the JWKS URL the registration names. The output holds no private
part. --kid must match ehr.smart.key_id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyFile == "" {
				return fmt.Errorf("--key: the PEM private key file is required")
			}
			b, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			key, err := smart.ParsePrivateKey(b, alg)
			if err != nil {
				return fmt.Errorf("--key %s: %w", keyFile, err)
			}
			out, err := smart.JWKS(key, kid, alg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "PEM private key file (ehr.smart.private_key)")
	cmd.Flags().StringVar(&alg, "alg", smart.ES384, "RS384 or ES384 (ehr.smart.alg)")
	cmd.Flags().StringVar(&kid, "kid", "", "key id (ehr.smart.key_id)")
	return cmd
}
