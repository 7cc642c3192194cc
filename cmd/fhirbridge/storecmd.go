package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// withStore loads the configuration (--config, else $FHIRBRIDGE_CONFIG,
// else the embedded defaults), opens its store and runs fn; the commands
// that operate what serve keeps (deliveries, files, export) share it.
func withStore(cmd *cobra.Command, configFile string, fn func(ctx context.Context, c *config.Config, st *store.Store) error) error {
	if configFile == "" {
		configFile = os.Getenv("FHIRBRIDGE_CONFIG")
	}
	c, err := config.Load(configFile, os.Environ())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	st, err := store.Open(ctx, c.Database.URL.Reveal())
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	return fn(ctx, c, st)
}
