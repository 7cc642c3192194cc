package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

func newCheckCmd() *cobra.Command {
	var (
		files      []string
		params     []string
		configFile string
		connect    bool
	)
	cmd := &cobra.Command{
		Use:   "check [--config FILE [--connect]] [--mapping FILE]... [FILE]...",
		Short: "Validate a config and mapping files without starting anything",
		Long: `check loads and compiles each mapping file (YAML syntax, unknown keys, FHIRPath
expressions, functions the engine lacks, transforms and their arguments,
lookup code maps, parameters) and prints every problem as file:line:col.
With no file it checks every shipped mapping.

With --config it validates the serve configuration too (strict YAML with
line:col, FHIRBRIDGE_* environment overrides applied, secrets resolved but
never printed) and every route: its mapping loads with the route's params,
its resource type is the mapping's source, its FHIRPath condition compiles
and its connector is configured; each vendor module checks its own section
(what it says is below). It opens every file serve would read (TLS
certificate, key and client CA; the SMTP CA; the files of the vendor
sections), checks the host and port (1-65535) of every address serve listens
on or dials, and listens on server.listen and closes at once (an address in
use is only a note: serve may be running). An empty value for a security
setting (token, TLS file, host key pin, secret) is an error naming the key.
It then prints how serve would run: "serve: listen ADDR, auth on|OFF,
TLS on|OFF, mutual TLS on|OFF, store URL" (the password redacted).
It does not connect to anything, unless --connect is given (the config
then also from $FHIRBRIDGE_CONFIG): then it tries every configured
connector for real, all at once, each within 10s, and prints one line each
in a fixed order, "ok   NAME [TARGET] (what it saw)" or
"FAIL NAME [TARGET]: reason":
` + checkHelpLines() + `  smtp   (mail) connect, STARTTLS or implicit TLS, AUTH; no message sent
  ehr      GET {fhir_base_url}/metadata with the bearer token
           (status only)
No secret is printed.
Exit status 1 when anything fails.`,
		Example: `  fhirbridge check --mapping my-export.yaml
  fhirbridge check mappings/*.yaml --param timezone=America/New_York
  fhirbridge check --config site.yaml --connect`,
		RunE: func(cmd *cobra.Command, args []string) error {
			pm, err := parseParams(params)
			if err != nil {
				return err
			}
			if connect && configFile == "" {
				configFile = os.Getenv("FHIRBRIDGE_CONFIG")
			}
			if connect && configFile == "" {
				return errors.New("--connect needs --config (or $FHIRBRIDGE_CONFIG)")
			}
			failed := 0
			if configFile != "" {
				c, note, err := app.CheckConfig(configFile)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					return exitError{code: 1}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s\n%s\n", configFile, c.ServeSummary())
				if note != "" {
					fmt.Fprintln(cmd.OutOrStdout(), note)
				}
				if connect {
					if err := app.CheckConnect(cmd.Context(), configFile, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
						if !errors.Is(err, app.ErrChecksFailed) {
							fmt.Fprintln(cmd.ErrOrStderr(), err)
						}
						return exitError{code: 1}
					}
				}
				if len(files)+len(args) == 0 {
					return nil
				}
			}
			targets := append(append([]string{}, files...), args...)
			if len(targets) == 0 {
				targets = shipped.Names()
			}
			for _, t := range targets {
				if _, err := bridge.LoadMapping(t, pm); err != nil {
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
	cmd.Flags().StringVar(&configFile, "config", "", "serve configuration file to validate (with its routes and mappings)")
	cmd.Flags().BoolVar(&connect, "connect", false, "with --config (or $FHIRBRIDGE_CONFIG): try every configured connector for real, one line each, with the vendor modules' follow-up checks")
	cmd.Flags().StringArrayVar(&files, "mapping", nil, "mapping file or shipped name to check (repeatable)")
	cmd.Flags().StringArrayVar(&params, "param", nil, "run-time parameter NAME=VALUE used while compiling (repeatable)")
	return cmd
}

// checkHelpLines is what each registered vendor module's connection tests
// try (bridge.ModuleInfo.CheckHelp), for check --help.
func checkHelpLines() string {
	var b strings.Builder
	for _, m := range bridge.Modules() {
		if m.CheckHelp == "" {
			continue
		}
		for i, line := range strings.Split(strings.TrimRight(m.CheckHelp, "\n"), "\n") {
			if i == 0 {
				fmt.Fprintf(&b, "  %-8s %s\n", m.Name, line)
			} else {
				fmt.Fprintf(&b, "           %s\n", line)
			}
		}
	}
	return b.String()
}
