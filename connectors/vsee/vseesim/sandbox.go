package vseesim

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Environment variables the printed config reads its secrets from.
const (
	EnvAPIKey     = "VSEE_API_KEY"
	EnvAPISecret  = "VSEE_API_SECRET"
	EnvAdminToken = "VSEE_ADMIN_TOKEN"
)

// DefaultListen is the sandbox's address.
const DefaultListen = "127.0.0.1:8096"

// Config returns the connectors.vsee section of a bridge config that talks
// to s (started), the secrets read from the environment.
func (s *Sim) Config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connectors:\n  vsee:\n")
	fmt.Fprintf(&b, "    base_url: %s\n", s.URL())
	fmt.Fprintf(&b, "    portal_base_url: %s\n", s.PortalURL())
	fmt.Fprintf(&b, "    api_key: {env: %s}\n", EnvAPIKey)
	fmt.Fprintf(&b, "    api_secret: {env: %s}\n", EnvAPISecret)
	fmt.Fprintf(&b, "    admin_token: {env: %s}   # optional: forces scheduled visits past the providers' availability\n", EnvAdminToken)
	return b.String()
}

// Env returns the environment the printed config needs.
func (s *Sim) Env() map[string]string {
	return map[string]string{EnvAPIKey: s.opt.APIKey, EnvAPISecret: s.opt.APISecret, EnvAdminToken: s.opt.AdminToken}
}

// Print writes what to configure and export to w.
func (s *Sim) Print(w io.Writer) {
	avail := "every provider available"
	if s.opt.Availability != nil {
		avail = fmt.Sprintf("%d provider(s) with slots", len(s.opt.Availability))
	}
	fmt.Fprintf(w, "VSee Clinic simulator on %s, portal %s (SSO tokens live %s, %s); Ctrl-C stops it\n\n",
		s.URL(), s.PortalURL(), s.opt.TokenTTL, avail)
	fmt.Fprintf(w, "# 1. add to your fhirbridge config:\n%s\n", s.Config())
	fmt.Fprintln(w, "# 2. export the secrets it names, then start the bridge:")
	for _, k := range []string{EnvAPIKey, EnvAPISecret, EnvAdminToken} {
		fmt.Fprintf(w, "export %s=%s\n", k, s.Env()[k])
	}
	fmt.Fprintln(w, "fhirbridge serve --config fhirbridge.yaml")
}

// ParseSlot reads an --availability value, PROVIDER=START/END with RFC 3339
// times.
func ParseSlot(v string) (provider string, slot Slot, err error) {
	provider, span, ok := strings.Cut(v, "=")
	from, to, ok2 := strings.Cut(span, "/")
	if !ok || !ok2 || provider == "" {
		return "", Slot{}, fmt.Errorf("sandbox vsee: --availability %q: want PROVIDER=START/END (RFC 3339)", v)
	}
	if slot.Start, err = time.Parse(time.RFC3339, from); err != nil {
		return "", Slot{}, fmt.Errorf("sandbox vsee: --availability %q: start: %w", v, err)
	}
	if slot.End, err = time.Parse(time.RFC3339, to); err != nil {
		return "", Slot{}, fmt.Errorf("sandbox vsee: --availability %q: end: %w", v, err)
	}
	if !slot.End.After(slot.Start) {
		return "", Slot{}, fmt.Errorf("sandbox vsee: --availability %q: the end must be after the start", v)
	}
	return provider, slot, nil
}

// Command is `fhirbridge sandbox vsee`: the simulator on loopback,
// printing the connectors.vsee config and the environment to export.
func Command() *cobra.Command {
	var opt Options
	var listen string
	var slots []string
	cmd := &cobra.Command{
		Use:   "vsee [--listen ADDR] [--api-key KEY] [--api-secret S] [--admin-token T] [--token-ttl D] [--availability P=START/END]…",
		Short: "Run the VSee Clinic simulator",
		Long: `vsee runs a simulator of VSee Clinic's patient-side integration: POST
/users/sso (X-ApiKey and X-ApiSecret) creates or finds a user by its code and
mints an SSO token that expires; POST /intakes, /visits (scheduled),
/visits/add_walkin and /add_econsult take the token in X-ApiToken; a scheduled
visit is refused (400) when its provider_id has no free slot holding its
start, unless the Admin API Token is used, which forces it; GET /visits/:id
answers the visit's join code; the portal's auth?sso_token=…&next=… accepts a
token once, before it expires, and redirects to next. Without --availability
every provider is available. It prints the connectors.vsee section to paste
and the variables to export. It keeps no data between runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, v := range slots {
				p, sl, err := ParseSlot(v)
				if err != nil {
					return err
				}
				if opt.Availability == nil {
					opt.Availability = map[string][]Slot{}
				}
				opt.Availability[p] = append(opt.Availability[p], sl)
			}
			sim := New(opt)
			if _, err := sim.Start(listen); err != nil {
				return fmt.Errorf("sandbox vsee: %w", err)
			}
			defer sim.Close()
			sim.Print(cmd.OutOrStdout())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", DefaultListen, "address to listen on")
	f.StringVar(&opt.APIKey, "api-key", DefaultAPIKey, "the API key POST /users/sso accepts (X-ApiKey)")
	f.StringVar(&opt.APISecret, "api-secret", DefaultSecret, "the API secret POST /users/sso accepts (X-ApiSecret)")
	f.StringVar(&opt.AdminToken, "admin-token", DefaultAdminToken, "the Admin API Token, which forces scheduled visits")
	f.DurationVar(&opt.TokenTTL, "token-ttl", DefaultTokenTTL, "how long an SSO token is valid")
	f.StringArrayVar(&slots, "availability", nil, "a provider's free slot, PROVIDER=START/END in RFC 3339 (repeatable); none: every provider available")
	f.BoolVar(&opt.NoOneTimeLinks, "no-one-time-links", false, "leave one_time_link_token out of scheduled visits")
	cmd.Flags().SortFlags = false
	return cmd
}
