package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

const linkSecret = "CANARY-LINK-SECRET-77"

func TestSoloLink(t *testing.T) {
	t.Setenv("LINK_SECRET", linkSecret)
	dir := t.TempDir()
	patient := filepath.Join(dir, "patient.json")
	os.WriteFile(patient, []byte(`{"resourceType":"Patient","id":"pat-7","gender":"female","birthDate":"1980-02-29",
		"name":[{"family":"Lee","given":["Ann","Marie"]}]}`), 0o600)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`connectors:
  solo:
    base_url: "https://demo.visitnow.org/"
    api_key: {env: LINK_SECRET}
    context_links: {secret: {env: LINK_SECRET}}
`), 0o600)
	flags := []string{"--user", "dr.jones", "--type", "provider", "--visit", "5001", "--date", "2024-05-01T09:00:00Z"}
	ann := solo.LinkPatient{ID: "pat-7", Sex: "female", DOB: "1980-02-29", FirstName: "Ann", LastName: "Lee"}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		base     string // want the link to start with base + "?arg="
		want     solo.LinkContext
		wantErr  string
		argsOnly bool
	}{
		{name: "patient flags, secret from the environment",
			args: slicesOf(flags, "--secret-env", "LINK_SECRET", "--link-url", "https://solo.example/integrations/linking",
				"--patient-id", "p-1", "--sex", "male", "--dob", "1990-01-31", "--first-name", "Bo", "--last-name", "Ng"),
			base: "https://solo.example/integrations/linking",
			want: solo.LinkContext{User: "dr.jones", Type: "provider", Visit: "5001", Date: 1714554000,
				Patient: solo.LinkPatient{ID: "p-1", Sex: "male", DOB: "1990-01-31", FirstName: "Bo", LastName: "Ng"}}},
		{name: "a FHIR Patient, the config's secret and endpoint",
			args: slicesOf(flags, "--config", cfg, "--patient", patient),
			base: "https://demo.visitnow.org/integrations/linking",
			want: solo.LinkContext{User: "dr.jones", Type: "provider", Visit: "5001", Date: 1714554000, Patient: ann}},
		{name: "patient on stdin, flag overrides, arg only, Unix date",
			args:  []string{"--user", "u", "--type", "patient", "--visit", "v", "--date", "1714554000", "--secret-env", "LINK_SECRET", "--patient", "-", "--sex", "unknown", "--arg-only"},
			stdin: `{"resourceType":"Patient","id":"pat-7","gender":"female","birthDate":"1980-02-29","name":[{"family":"Lee","given":["Ann"]}]}`,
			want: solo.LinkContext{User: "u", Type: "patient", Visit: "v", Date: 1714554000,
				Patient: solo.LinkPatient{ID: "pat-7", Sex: "unknown", DOB: "1980-02-29", FirstName: "Ann", LastName: "Lee"}},
			argsOnly: true},
		{name: "missing patient fields", args: slicesOf(flags, "--secret-env", "LINK_SECRET", "--arg-only"), code: 2,
			wantErr: "patient.id is required"},
		{name: "bad type", args: []string{"--user", "u", "--type", "nurse", "--visit", "v", "--date", "1", "--patient", patient, "--secret-env", "LINK_SECRET"}, code: 2,
			wantErr: "type must be patient, medicalAssistant or provider"},
		{name: "bad date", args: []string{"--user", "u", "--type", "patient", "--visit", "v", "--date", "tomorrow", "--patient", patient}, code: 2,
			wantErr: "--date: want RFC 3339"},
		{name: "no secret", args: slicesOf(flags, "--patient", patient), code: 2, wantErr: "no link secret"},
		{name: "secret variable unset", args: slicesOf(flags, "--patient", patient, "--secret-env", "NO_SUCH_VAR_91"), code: 2, wantErr: "NO_SUCH_VAR_91 is not set"},
		{name: "no endpoint", args: slicesOf(flags, "--patient", patient, "--secret-env", "LINK_SECRET"), code: 2, wantErr: "no linking endpoint"},
		{name: "not a Patient", args: slicesOf(flags, "--patient", cfg, "--secret-env", "LINK_SECRET"), code: 2, wantErr: "--patient:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := run(t, tt.stdin, append([]string{"solo", "link"}, tt.args...)...)
			if strings.Contains(out+stderr, linkSecret) {
				t.Fatal("the secret was printed")
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			if tt.code != 0 {
				if !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("stderr lacks %q: %s", tt.wantErr, stderr)
				}
				if strings.Contains(stderr, "Lee") || strings.Contains(stderr, "1980-02-29") {
					t.Errorf("an error quotes patient data: %s", stderr)
				}
				return
			}
			link := strings.TrimSpace(out)
			arg := link
			if !tt.argsOnly {
				u, err := url.Parse(link)
				if err != nil || !strings.HasPrefix(link, tt.base+"?arg=") {
					t.Fatalf("link %s, want it under %s", link, tt.base)
				}
				arg = u.Query().Get("arg") // as the endpoint receives it, decoded
			}
			want, _ := json.Marshal(tt.want)
			got, err := solo.DecryptContext([]byte(linkSecret), arg)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Go decryption: %s %v, want %s", got, err, want)
			}
			opensslDecrypt(t, arg, want)
		})
	}
}

// opensslDecrypt decrypts arg with the openssl command-line tool, as the
// issue asks, and compares the result with want.
func opensslDecrypt(t *testing.T, arg string, want []byte) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: skipping its decryption")
		return
	}
	salt, iv, ct, err := solo.SplitContextArg(arg)
	if err != nil {
		t.Fatal(err)
	}
	key := solo.ContextKey([]byte(linkSecret), salt)
	cmd := exec.Command("openssl", "enc", "-d", "-aes-256-cbc", "-K", hex.EncodeToString(key[:]), "-iv", hex.EncodeToString(iv))
	cmd.Stdin = bytes.NewReader(ct)
	got, err := cmd.Output()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("openssl: %q %v, want %s", got, err, want)
	}
}

func slicesOf(base []string, more ...string) []string {
	return append(append([]string{}, base...), more...)
}

func TestSoloLinkFreshSaltAndIV(t *testing.T) {
	t.Setenv("LINK_SECRET", linkSecret)
	args := []string{"solo", "link", "--user", "u", "--type", "patient", "--visit", "v", "--date", "1", "--patient-id", "p",
		"--sex", "other", "--dob", "2000-01-01", "--first-name", "A", "--last-name", "B", "--secret-env", "LINK_SECRET", "--arg-only"}
	a, _, _ := run(t, "", args...)
	b, _, _ := run(t, "", args...)
	if a == "" || a[:48] == b[:48] { // the URL-encoded salt and IV
		t.Errorf("two links share salt and IV:\n%s%s", a, b)
	}
}
