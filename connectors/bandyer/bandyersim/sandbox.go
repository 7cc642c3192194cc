package bandyersim

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// EnvAPIKey is the environment variable the printed config reads the API
// key from.
const EnvAPIKey = "BANDYER_API_KEY"

// DefaultListen is the sandbox's address.
const DefaultListen = "127.0.0.1:8095"

// DefaultGroups is the printed config's lookup of a participant's resource
// type to its group, matching the spec's examples ("doctor", "patient").
var DefaultGroups = map[string]string{
	"Patient":          "patient",
	"Practitioner":     "doctor",
	"PractitionerRole": "doctor",
	"RelatedPerson":    "patient",
}

// DefaultLanguage is the printed config's default language (the spec's
// examples use "it").
const DefaultLanguage = "it"

// Config returns the connectors.bandyer section of a bridge config that
// talks to s (started), the API key read from EnvAPIKey.
func (s *Sim) Config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connectors:\n  bandyer:\n")
	fmt.Fprintf(&b, "    base_url: %s\n", s.URL())
	fmt.Fprintf(&b, "    api_key: {env: %s}\n", EnvAPIKey)
	fmt.Fprintf(&b, "    auth0: %t\n", s.opt.Auth0)
	fmt.Fprintf(&b, "    plus_groups: [%s]\n", strings.Join(s.opt.PlusGroups, ", "))
	period := s.opt.ImmutablePeriod
	if period < 0 {
		period = 0
	}
	fmt.Fprintf(&b, "    immutable_period: %s\n", period)
	fmt.Fprintf(&b, "    user_header: %s\n", s.opt.UserHeader)
	fmt.Fprintf(&b, "    groups:\n")
	keys := make([]string, 0, len(DefaultGroups))
	for k := range DefaultGroups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "      %s: %s\n", k, DefaultGroups[k])
	}
	fmt.Fprintf(&b, "    language: %s\n", DefaultLanguage)
	return b.String()
}

// Env returns the environment the printed config needs.
func (s *Sim) Env() map[string]string { return map[string]string{EnvAPIKey: s.opt.APIKey} }

// Print writes what to configure and export to w.
func (s *Sim) Print(w io.Writer) {
	fmt.Fprintf(w, "Bandyer Teleconsultation Service Backend simulator on %s (auth0 %t, plus groups %s, immutable period %s; the GET user header %s); Ctrl-C stops it\n\n",
		s.URL(), s.opt.Auth0, strings.Join(s.opt.PlusGroups, ","), s.opt.ImmutablePeriod, s.opt.UserHeader)
	fmt.Fprintf(w, "# 1. add to your fhirbridge config:\n%s\n", s.Config())
	fmt.Fprintln(w, "# 2. export the secret it names, then start the bridge:")
	fmt.Fprintf(w, "export %s=%s\n", EnvAPIKey, s.opt.APIKey)
	fmt.Fprintln(w, "fhirbridge serve --config fhirbridge.yaml")
}

// parseAuth0Users reads --auth0-user values, ID=GROUP[,GROUP…].
func parseAuth0Users(vals []string) (map[string]Auth0User, error) {
	out := map[string]Auth0User{}
	for _, v := range vals {
		id, groups, ok := strings.Cut(v, "=")
		if !ok || id == "" || groups == "" {
			return nil, fmt.Errorf("sandbox bandyer: --auth0-user %q: want ID=GROUP[,GROUP…]", v)
		}
		out[id] = Auth0User{Groups: strings.Split(groups, ","), FullName: id}
	}
	return out, nil
}

// Command is `fhirbridge sandbox bandyer`: the simulator on loopback,
// printing the connectors.bandyer config and the environment to export.
func Command() *cobra.Command {
	var opt Options
	var listen string
	var users []string
	cmd := &cobra.Command{
		Use:   "bandyer [--listen ADDR] [--api-key KEY] [--auth0] [--plus-groups G,…] [--immutable-period D]",
		Short: "Run the Bandyer Teleconsultation Service Backend simulator",
		Long: `bandyer runs a simulator of the Bandyer Teleconsultation Service Backend
(POST/PATCH/GET/DELETE /teleconsultation[/:roomId] and POST
/teleconsultation/:roomId/participants/data) that does what the spec says: the
Bandyer room is created only once every participant is known; a room whose
participants are all known needs a member of a plus group (400 "no plus user
in room" otherwise, the spec's words); changes are refused from the immutable
period (IMMUTABLE_PERIOD_MS) before the start; a PATCH that changes anything
replaces the Bandyer room under the same roomId; DELETE moves the
teleconsultation to TRASH; GET answers the participant the user header names
its accessLinkURL and Bandyer user id, anyone else 401 "Unauthorized user".
The service authenticates with the API key as "Authorization: Bearer KEY" or
the X-Api-Key header. It prints the connectors.bandyer section to paste and
the variable to export. It keeps no data between runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opt.Auth0Users, err = parseAuth0Users(users); err != nil {
				return err
			}
			sim := New(opt)
			if _, err := sim.Start(listen); err != nil {
				return fmt.Errorf("sandbox bandyer: %w", err)
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
	f.StringVar(&opt.APIKey, "api-key", DefaultAPIKey, "the API key the simulator accepts")
	f.BoolVar(&opt.Auth0, "auth0", false, "run with the auth0 dependency (participants may be a plain array of auth0 ids)")
	f.StringArrayVar(&users, "auth0-user", nil, "an auth0 user the simulator knows, ID=GROUP[,GROUP…] (repeatable; with --auth0)")
	f.StringSliceVar(&opt.PlusGroups, "plus-groups", DefaultPlusGroups, "the plus groups, of which a room needs one member")
	f.DurationVar(&opt.ImmutablePeriod, "immutable-period", time.Hour, "IMMUTABLE_PERIOD_MS: changes are refused from this long before the start")
	f.StringVar(&opt.UserHeader, "user-header", DefaultUserHeader, "the header naming the requesting user of a GET by userExternalId")
	cmd.Flags().SortFlags = false
	return cmd
}
