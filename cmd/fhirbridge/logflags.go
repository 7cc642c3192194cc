package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/logging"
)

// addLogFlags adds the global --log-format and --log-level flags.
func addLogFlags(root *cobra.Command) {
	root.PersistentFlags().String("log-format", "", "log format: text or json, one JSON object per line (default: config log.format, else text)")
	root.PersistentFlags().String("log-level", "", "log level: debug, info, warn or error (default: config log.level, else info)")
}

// commandLogger is the logger of a command writing to its stderr: the
// --log-format and --log-level flags when given, else the config's log
// section (c may be nil), else text at info.
func commandLogger(cmd *cobra.Command, c *config.Config) (*slog.Logger, error) {
	format, level := "", ""
	if c != nil {
		format, level = c.Log.Format, c.Log.Level
	}
	if f := cmd.Flags().Lookup("log-format"); f != nil && f.Changed {
		format = f.Value.String()
	}
	if f := cmd.Flags().Lookup("log-level"); f != nil && f.Changed {
		level = f.Value.String()
	}
	log, err := logging.New(cmd.ErrOrStderr(), format, level)
	if err != nil {
		return nil, fmt.Errorf("--log-format/--log-level: %w", err)
	}
	return log, nil
}
