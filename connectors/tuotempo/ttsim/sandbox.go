package ttsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/wsapi"
)

// NewCaller makes the Caller `sandbox tuotempo --bridge` plays the
// scenario with: the bridge's web service client (wsapi.Client) for the
// bridge at baseURL (its listener, "http://127.0.0.1:8080"; the web
// services' prefix is added) over transport ("rest" or "soap") with a
// center's bearer token. Tests replace it with a fake; nil answers
// ErrNoClient.
var NewCaller = func(baseURL, transport, token string) (Caller, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--bridge %q: want the bridge's http(s) URL", baseURL)
	}
	if !strings.HasSuffix(u.Path, wsapi.DefaultPrefix) {
		u.Path = strings.TrimSuffix(u.Path, "/") + wsapi.DefaultPrefix
	}
	return wsapi.NewClient(u.String(), transport, wsapi.ClientAuth{Token: token}, &http.Client{Timeout: 30 * time.Second}), nil
}

// ErrNoClient is the error of --bridge when NewCaller is not set.
var ErrNoClient = errors.New("sandbox tuotempo --bridge: no web service client (ttsim.NewCaller is nil)")

// Sandbox defaults.
const (
	DefaultCenterToken = "sandbox-center-token"
	// DefaultPortalToken is the patient portal's token for the bridge's
	// sign-on endpoint (sso.tokens).
	DefaultPortalToken = "sandbox-portal-token"
	// Environment variables the printed config names for its secrets.
	EnvCenterToken = "TT_SANDBOX_CENTER_TOKEN"
	EnvSSOPassword = "TT_SANDBOX_SSO_PASSWORD"
	EnvEHRToken    = "TT_SANDBOX_EHR_TOKEN"
	EnvPortalToken = "TT_SANDBOX_PORTAL_TOKEN"
)

// Sandbox is what `fhirbridge sandbox tuotempo` runs: tuOtempO's login
// server and a fake EHR, and the configuration that points the bridge at
// them. Make it with StartSandbox; Close stops both servers.
type Sandbox struct {
	Login *LoginServer
	EHR   *EHR
	// Center and CenterToken are the center the config declares.
	Center, CenterToken string
	// BundlePath is the sample Bundle written for the bridge.
	BundlePath string
	// tmp is the temporary folder StartSandbox made, removed by Close.
	tmp string
}

// SandboxOptions configure StartSandbox; zero values take the defaults.
type SandboxOptions struct {
	// LoginAddr and EHRAddr are the listen addresses ("127.0.0.1:0" for
	// any free port).
	LoginAddr, EHRAddr string
	// Login configures the login server.
	Login LoginOptions
	// EHRToken is the EHR's bearer token (default DefaultEHRToken).
	EHRToken string
	// Center and CenterToken: the center in the config (defaults
	// SampleCenter, DefaultCenterToken).
	Center, CenterToken string
	// Dir receives the sample Bundle (default a new temporary folder).
	Dir string
	// Now is the clock of the sample's Slots (default time.Now).
	Now func() time.Time
}

// StartSandbox starts the login server and the EHR, seeds the EHR with
// the sample's Schedule and Slots and writes the sample Bundle.
func StartSandbox(opt SandboxOptions) (*Sandbox, error) {
	if opt.Center == "" {
		opt.Center = SampleCenter
	}
	if opt.CenterToken == "" {
		opt.CenterToken = DefaultCenterToken
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		return nil, fmt.Errorf("starting the tuOtempO sandbox: %w", err)
	}
	tmp := ""
	if opt.Dir == "" {
		if tmp, err = os.MkdirTemp("", "fhirbridge-tuotempo-sandbox-"); err != nil {
			return nil, fmt.Errorf("starting the tuOtempO sandbox: %w", err)
		}
		opt.Dir = tmp
	}
	bundle := SampleBundle(opt.Now(), loc)
	path := filepath.Join(opt.Dir, "tuotempo-sandbox-bundle.json")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		return nil, fmt.Errorf("writing the sandbox's sample Bundle: %w", err)
	}
	s := &Sandbox{Login: NewLoginServer(opt.Login), EHR: NewEHR(opt.EHRToken),
		Center: opt.Center, CenterToken: opt.CenterToken, BundlePath: path, tmp: tmp}
	if err := s.EHR.Seed(bundle); err != nil {
		return nil, err
	}
	if _, err := s.Login.Start(orDefault(opt.LoginAddr, "127.0.0.1:0")); err != nil {
		return nil, fmt.Errorf("starting tuOtempO's login server: %w", err)
	}
	if _, err := s.EHR.Start(orDefault(opt.EHRAddr, "127.0.0.1:0")); err != nil {
		s.Login.Close()
		return nil, fmt.Errorf("starting the fake EHR: %w", err)
	}
	return s, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Close stops the servers and removes the temporary folder it made.
func (s *Sandbox) Close() error {
	err := errors.Join(s.Login.Close(), s.EHR.Close())
	if s.tmp != "" {
		err = errors.Join(err, os.RemoveAll(s.tmp))
	}
	return err
}

// Config is the configuration to paste into the bridge's file: the
// tuOtempO online section with the center and its token, the SSO section
// with the login URL, and the shared ehr section. Secrets are named by
// environment variable (Env returns their values).
func (s *Sandbox) Config() string {
	return fmt.Sprintf(`connectors:
  tuotempo:
    online:
      centers:
        - lid: %s
          name: Sandbox center
          timezone: Europe/Madrid
          token: {env: %s}
    sso:
      login_url: %s
      session_url: %s
      db_name: %s
      user: %s
      password: {env: %s}
      tokens: [{env: %s}]
ehr:
  fhir_base_url: %s
  token: {env: %s}
`, s.Center, EnvCenterToken, s.Login.LoginURL(), s.Login.URL()+"/mop_customer.php", s.Login.DBName(), s.Login.opt.User, EnvSSOPassword, EnvPortalToken, s.EHR.URL(), EnvEHRToken)
}

// Env returns the environment the Config names: variable → value.
func (s *Sandbox) Env() map[string]string {
	return map[string]string{EnvCenterToken: s.CenterToken, EnvSSOPassword: s.Login.opt.Password, EnvEHRToken: s.EHR.Token(), EnvPortalToken: DefaultPortalToken}
}

// Print writes the config, the environment and the commands to w.
func (s *Sandbox) Print(w io.Writer) {
	fmt.Fprintf(w, "tuOtempO login server on %s (dbName %s), fake EHR on %s\n\n", s.Login.URL(), s.Login.DBName(), s.EHR.URL())
	fmt.Fprintf(w, "# 1. add to your fhirbridge config:\n%s\n", s.Config())
	fmt.Fprintln(w, "# 2. export the secrets it names, then start the bridge:")
	for _, k := range []string{EnvCenterToken, EnvSSOPassword, EnvEHRToken, EnvPortalToken} {
		fmt.Fprintf(w, "export %s=%s\n", k, s.Env()[k])
	}
	fmt.Fprintln(w, "fhirbridge serve --config fhirbridge.yaml")
	fmt.Fprintln(w, "\n# 3. post the sample Schedule and Slots (the EHR also serves them at GET /Slot):")
	fmt.Fprintf(w, "curl -s -X POST -H 'Content-Type: application/fhir+json' --data-binary @%s http://127.0.0.1:8080/fhir\n", s.BundlePath)
	fmt.Fprintln(w, "\n# 4. play tuOtempO against the bridge, over REST and SOAP:")
	for _, tr := range []string{"rest", "soap"} {
		fmt.Fprintf(w, "fhirbridge sandbox tuotempo --bridge http://127.0.0.1:8080 --transport %s --center %s --token %s\n", tr, s.Center, s.CenterToken)
	}
}

// Command is `fhirbridge sandbox tuotempo`.
func Command() *cobra.Command {
	var opt SandboxOptions
	var reminders bool
	var bridge, transport, token, center, activity, resource, pattern, userLID, code, idNumber, resultsUser string
	cmd := &cobra.Command{
		Use:   "tuotempo [--login-listen ADDR] [--ehr-listen ADDR] | --bridge URL [--transport rest|soap] [--token T]",
		Short: "Run tuOtempO's side of online booking: its SSO login server, a fake EHR, and its web service calls",
		Long: `tuotempo plays tuOtempO for the bridge's online booking.

Without --bridge it starts tuOtempO's D.1 login server (POST /login with a
form body and HTTP Basic credentials answers sessionId=…; patient data in
a URL is refused) and a fake EHR FHIR server (takes the bridge's
write-back as transaction Bundles and PUTs, serves GET /Slot with
_include=Slot:schedule), writes a sample Bundle of Schedule and Slots,
and prints the config to paste and the commands to run. Ctrl-C stops it.

With --bridge it plays a patient on tuOtempO's portal against a running
bridge, one line per web service call: GetCenters, KeyEntities,
searchAvailabilities (next week), addAppointment, checkAppointment,
getAppointments, a move (deleteAppointment + addAppointment), a
cancellation, getAppointments again; with --reminders the A.4 calls of
tuOtempO's reminders (SearchAppointments, CancelAppointment); and with
--download-code and --id-number the results. It exits 0 when every answer is what tuOtempO
expects, and otherwise names the failing step.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if bridge != "" {
				s := &Scenario{Transport: transport, Center: center, Activity: activity, Resource: resource,
					Pattern: pattern, UserLID: userLID, Reminders: reminders, Out: out}
				if code != "" || idNumber != "" {
					s.Results = &Results{UserLID: resultsUser, DownloadCode: code, IDNumber: idNumber}
				}
				return playBridge(cmd.Context(), s, bridge, token, out)
			}
			sb, err := StartSandbox(opt)
			if err != nil {
				return err
			}
			defer sb.Close()
			sb.Print(out)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.LoginAddr, "login-listen", "127.0.0.1:8093", "address of tuOtempO's login server")
	f.StringVar(&opt.EHRAddr, "ehr-listen", "127.0.0.1:8094", "address of the fake EHR")
	f.StringVar(&opt.Login.DBName, "db-name", DefaultDBName, "the tuOtempO instance's dbName")
	f.StringVar(&opt.Login.User, "login-user", DefaultLoginUser, "the HTTP Basic user the login server accepts")
	f.StringVar(&opt.Login.Password, "login-password", DefaultLoginPassword, "the HTTP Basic password the login server accepts")
	f.StringVar(&opt.EHRToken, "ehr-token", DefaultEHRToken, "the bearer token the fake EHR accepts")
	f.StringVar(&opt.CenterToken, "center-token", DefaultCenterToken, "the center's token the printed config declares")
	f.StringVar(&opt.Dir, "dir", "", "folder for the sample Bundle (default a new temporary folder)")
	f.StringVar(&bridge, "bridge", "", "play the scenario against the bridge at this base URL")
	f.StringVar(&transport, "transport", "rest", "the web service transport: rest or soap")
	f.StringVar(&token, "token", DefaultCenterToken, "the center's bearer token")
	f.StringVar(&center, "center", SampleCenter, "CENTER_LID (empty: the first GetCenters lists)")
	f.StringVar(&activity, "activity", SampleActivity, "ACTIVITY_LID (empty: the first KeyEntities lists)")
	f.StringVar(&resource, "resource", "", "RESOURCE_LID to search (empty: every resource)")
	f.StringVar(&pattern, "pattern", PatternTID, "patient pattern: tid (a new patient, USER_TID) or lid (an existing USER_LID)")
	f.StringVar(&userLID, "user-lid", "", "the existing patient's USER_LID (--pattern lid)")
	f.BoolVar(&reminders, "reminders", false, "add the A.4 reminder steps (SearchAppointments, CancelAppointment)")
	f.StringVar(&code, "download-code", "", "DOWNLOAD_CODE of a result to fetch (adds the results steps)")
	f.StringVar(&idNumber, "id-number", "", "USER_ID_NUMBER paired with --download-code")
	f.StringVar(&resultsUser, "results-user-lid", "", "USER_LID whose results are listed (default the booking's patient)")
	cmd.Flags().SortFlags = false
	return cmd
}

// playBridge runs s against the bridge at base with the client NewCaller
// makes, and prints the summary.
func playBridge(ctx context.Context, s *Scenario, base, token string, out io.Writer) error {
	if s.Transport != "rest" && s.Transport != "soap" {
		return fmt.Errorf("sandbox tuotempo: --transport %q: rest or soap", s.Transport)
	}
	if NewCaller == nil {
		return ErrNoClient
	}
	c, err := NewCaller(base, s.Transport, token)
	if err != nil {
		return fmt.Errorf("sandbox tuotempo: making the %s client: %w", s.Transport, err)
	}
	s.Caller = c
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := s.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "OK: booked %s, moved to %s, cancelled; %d slots taken on the way\n", rep.Booked, rep.Moved, len(rep.Taken))
	return nil
}
