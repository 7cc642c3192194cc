package solomod

// `fhirbridge solo link`: a context-aware link (spec: "Context Aware
// Linking"): the JSON context of the spec's schema, encrypted with
// AES-256-CBC under SHA-256(secret ‖ salt) with a fresh 8-byte salt and
// 16-byte IV, appended URL-encoded to the linking endpoint as ?arg=….

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// linkFlags are the flags of `solo link`.
type linkFlags struct {
	ctx                 solo.LinkContext
	date                string
	patientFile         string
	configFile          string
	secretEnv, linkURL  string
	argOnly             bool
	sexFlag, dobFlag    string
	firstFlag, lastFlag string
	patientIDFlag       string
}

// linkCmd is `fhirbridge solo link`.
func linkCmd() *cobra.Command {
	var f linkFlags
	cmd := &cobra.Command{
		Use:   "link --user U --type patient|medicalAssistant|provider --visit V --date WHEN (--patient FILE | --patient-id ID --sex S --dob YYYY-MM-DD --first-name F --last-name L)",
		Short: "Build a Solo context-aware link (encrypted visit context)",
		Long: `link prints a context-aware link to a Solo visit: the JSON context of the
spec's schema (user, type, visit, date, patient{id, sex, dob, firstName,
lastName}, all required) encrypted with AES-256-CBC, key = SHA-256(secret ‖
salt), a random 8-byte salt and 16-byte IV per link, passed as
URL-encode(Base64(salt) + Base64(IV) + Base64(ciphertext)) in ?arg= of the
linking endpoint.

The patient comes from a FHIR Patient (--patient FILE, "-" for stdin: id,
gender, birthDate, the first name's given[0] and family) or from the flags,
which override the file. The secret is connectors.solo.context_links.secret
of the config (--config, or $FHIRBRIDGE_CONFIG), or the environment variable
named by --secret-env; it is never printed. The endpoint is --link-url, else
context_links.link_url, else connectors.solo.base_url + /integrations/linking.`,
		Example: `  fhirbridge solo link --secret-env SOLO_LINK_SECRET --link-url https://demo.visitnow.org/integrations/linking \
    --user dr.jones --type provider --visit 5001 --date 2024-05-01T09:00:00Z --patient patient.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			link, err := buildLink(&f, cmd.InOrStdin())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), link)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ctx.User, "user", "", "Solo user the link is for (required)")
	fl.StringVar(&f.ctx.Type, "type", "", "user type: patient, medicalAssistant or provider (required)")
	fl.StringVar(&f.ctx.Visit, "visit", "", "visit (appointment) id (required)")
	fl.StringVar(&f.date, "date", "", "date and time of the visit: RFC 3339 or Unix seconds (required)")
	fl.StringVar(&f.patientFile, "patient", "", `FHIR Patient JSON file ("-" for stdin) giving the patient fields`)
	fl.StringVar(&f.patientIDFlag, "patient-id", "", "patient id")
	fl.StringVar(&f.sexFlag, "sex", "", "patient sex: male, female, other or unknown")
	fl.StringVar(&f.dobFlag, "dob", "", "patient date of birth, YYYY-MM-DD")
	fl.StringVar(&f.firstFlag, "first-name", "", "patient first name")
	fl.StringVar(&f.lastFlag, "last-name", "", "patient last name")
	fl.StringVar(&f.configFile, "config", "", "configuration file with connectors.solo.context_links (default $FHIRBRIDGE_CONFIG)")
	fl.StringVar(&f.secretEnv, "secret-env", "", "name of the environment variable holding the link secret (instead of the config)")
	fl.StringVar(&f.linkURL, "link-url", "", "linking endpoint (default from the config)")
	fl.BoolVar(&f.argOnly, "arg-only", false, "print only the URL-encoded arg value, not the whole link")
	return cmd
}

// buildLink assembles, validates and encrypts the context.
func buildLink(f *linkFlags, stdin io.Reader) (string, error) {
	c := f.ctx
	if f.patientFile != "" {
		p, err := readLinkPatient(f.patientFile, stdin)
		if err != nil {
			return "", err
		}
		c.Patient = p
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{f.patientIDFlag, &c.Patient.ID}, {f.sexFlag, &c.Patient.Sex}, {f.dobFlag, &c.Patient.DOB},
		{f.firstFlag, &c.Patient.FirstName}, {f.lastFlag, &c.Patient.LastName}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	if f.date != "" {
		d, err := parseLinkDate(f.date)
		if err != nil {
			return "", err
		}
		c.Date = d
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	secret, base, err := linkSettings(f)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding the link context: %w", err)
	}
	arg, err := solo.EncryptContext([]byte(secret), plain, nil)
	if err != nil {
		return "", err
	}
	if f.argOnly {
		return arg, nil
	}
	if base == "" {
		return "", errors.New("no linking endpoint: give --link-url, or a config with connectors.solo (context_links.link_url or base_url), or --arg-only")
	}
	return base + "?arg=" + arg, nil
}

// parseLinkDate reads RFC 3339 or Unix seconds.
func parseLinkDate(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Unix() <= 0 {
		return 0, errors.New("--date: want RFC 3339 (2024-05-01T09:00:00Z) or Unix seconds")
	}
	return t.Unix(), nil
}

// linkSettings finds the secret and the linking endpoint.
func linkSettings(f *linkFlags) (secret, base string, err error) {
	cfgFile := f.configFile
	if cfgFile == "" {
		cfgFile = os.Getenv("FHIRBRIDGE_CONFIG")
	}
	var cl *ContextLinks
	var soloBase string
	if cfgFile != "" {
		if bridge.LoadCommandConfig == nil {
			return "", "", errors.New("no application configuration loader (bridge.LoadCommandConfig)")
		}
		cc, err := bridge.LoadCommandConfig(solo.Name, cfgFile)
		if err != nil {
			return "", "", err
		}
		if s, _ := cc.Section.(*Config); s != nil {
			cl, soloBase = s.ContextLinks, strings.TrimRight(s.BaseURL, "/")
		}
	}
	switch {
	case f.secretEnv != "":
		secret = os.Getenv(f.secretEnv)
		if secret == "" {
			return "", "", fmt.Errorf("--secret-env: environment variable %s is not set", f.secretEnv)
		}
	case cl != nil && cl.Secret != "":
		secret = cl.Secret.Reveal()
	default:
		return "", "", errors.New("no link secret: give --secret-env NAME, or a config with connectors.solo.context_links.secret")
	}
	switch {
	case f.linkURL != "":
		base = f.linkURL
	case cl != nil && cl.LinkURL != "":
		base = cl.LinkURL
	case soloBase != "":
		base = soloBase + linkingPath
	}
	if base != "" {
		if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return "", "", errors.New("the linking endpoint must be an http(s) URL without a query")
		}
	}
	return secret, base, nil
}

// readLinkPatient reads the patient fields from a FHIR Patient.
func readLinkPatient(path string, stdin io.Reader) (solo.LinkPatient, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return solo.LinkPatient{}, fmt.Errorf("reading --patient: %w", err)
	}
	return linkPatientFrom(data)
}

// linkPatientFrom maps a FHIR Patient onto the link's patient: id,
// gender (male, female, other, unknown as they are), birthDate, and the
// first name's given[0] and family. Errors never quote the content.
func linkPatientFrom(data []byte) (solo.LinkPatient, error) {
	v, err := fhir.Decode(data, fhir.DecodeOptions{})
	if err != nil {
		return solo.LinkPatient{}, fmt.Errorf("--patient: %w", err)
	}
	if v.Kind != fhir.Object || v.ResourceType() != "Patient" {
		return solo.LinkPatient{}, errors.New("--patient: not a FHIR Patient")
	}
	p := solo.LinkPatient{ID: v.GetString("id"), Sex: v.GetString("gender"), DOB: v.GetString("birthDate")}
	if names := v.Get("name"); names != nil && names.Kind == fhir.Array && len(names.Items) > 0 {
		n := names.Items[0]
		p.LastName = n.GetString("family")
		if g := n.Get("given"); g != nil && g.Kind == fhir.Array && len(g.Items) > 0 && g.Items[0].Kind == fhir.String {
			p.FirstName = g.Items[0].Str
		}
	}
	return p, nil
}

// linkingPath is Solo's context-aware link page below its base URL.
const linkingPath = "/integrations/linking"
