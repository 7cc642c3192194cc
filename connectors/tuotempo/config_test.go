package tuotempo

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/connectors/mail"
)

// testRoot is the application configuration as a module sees it.
type testRoot struct {
	dir  string
	mail *mail.Config
	ehr  *ehr.Endpoint
}

func (r testRoot) Dir() string                                { return r.dir }
func (r testRoot) MailConfig() *mail.Config                   { return r.mail }
func (r testRoot) EHRConfig() *ehr.Endpoint                   { return r.ehr }
func (r testRoot) ConfiguredRoutes() []bridge.ConfiguredRoute { return nil }

// decode reads a connectors.tuotempo section as strictly as the
// application does.
func decode(t *testing.T, src string) *Config {
	t.Helper()
	cfg := new(Config)
	if err := yaml.UnmarshalWithOptions([]byte(src), cfg, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("decoding %q: %v", src, err)
	}
	return cfg
}

// TestConfigRefusals: New refuses a section that cannot run, each error
// naming its key under connectors.tuotempo.
func TestConfigRefusals(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"sftp without a pinned host key", "remote: {kind: sftp, host: h, user: u, key_file: k}\n", "connectors.tuotempo.remote: sftp needs known_hosts or host_key_fingerprint"},
		{"sftp without a login", "remote: {kind: sftp, host: h, user: u, host_key_fingerprint: x}\n", "connectors.tuotempo.remote: sftp needs password or key_file"},
		{"ftp without a host", "remote: {kind: ftp, user: u}\n", "connectors.tuotempo.remote: ftp needs host and user"},
		{"local without a folder", "remote: {kind: local}\n", "connectors.tuotempo.remote: local needs dir"},
		{"unknown remote kind", "remote: {kind: smb, host: h}\n", `connectors.tuotempo.remote.kind "smb": want sftp, ftp or local`},
		{"export without {time}", "remote: {kind: local, dir: /x}\nexports: [{name: e, schedule: '30 2 * * *', file: a.csv}]\n", `connectors.tuotempo.exports[0].file "a.csv": must contain {time}`},
		{"export without a schedule", "remote: {kind: local, dir: /x}\nexports: [{name: e}]\n", "connectors.tuotempo.exports[0]: name and schedule are required"},
		{"export in an unknown zone", "remote: {kind: local, dir: /x}\nexports: [{name: e, schedule: '30 2 * * *', timezone: Mars/Olympus}]\n", "not an IANA time zone"},
		{"two-character delimiter", "remote: {kind: local, dir: /x}\nexports: [{name: e, schedule: '30 2 * * *', format: {delimiter: ';;'}}]\n", `exports[0].format.delimiter ";;": one character`},
		{"unknown encoding", "remote: {kind: local, dir: /x}\nexports: [{name: e, schedule: '30 2 * * *', format: {encoding: latin9}}]\n", `exports[0].format.encoding "latin9"`},
		{"two jobs with one name", "remote: {kind: local, dir: /x}\nexports: [{name: e, schedule: '30 2 * * *'}]\ncancellations: [{name: e}]\n", `connectors.tuotempo.cancellations[0]: duplicate job name "e"`},
		{"cancellations without a name", "remote: {kind: local, dir: /x}\ncancellations: [{dir: in}]\n", "connectors.tuotempo.cancellations[0]: name is required"},
		{"notices without a mail server", "remote: {kind: local, dir: /x}\nnotify_to: [ops@example.org]\n", "connectors.tuotempo.notify_to: needs the mail section"},
		{"file server port", "remote: {kind: ftp, host: h, user: u, port: 70000}\n", `connectors.tuotempo.remote.port: port "70000" is not 1-65535`},
		{"file server host with a port", "remote: {kind: ftp, host: 'h:21', user: u}\n", `connectors.tuotempo.remote.host: "h:21" is not a host name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(decode(t, c.src), testRoot{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	// the same section with a mail server is fine
	if _, err := New(decode(t, "remote: {kind: local, dir: /x}\nnotify_to: [ops@example.org]\n"), testRoot{mail: &mail.Config{Host: "smtp.example", From: "a@example.org"}}); err != nil {
		t.Errorf("notices with a mail server: %v", err)
	}
}

// TestConfigDefaults: New fills the documented defaults.
func TestConfigDefaults(t *testing.T) {
	cfg := decode(t, "remote: {kind: local, dir: /x}\nexports: [{name: e, schedule: '30 2 * * *'}]\ncancellations: [{name: c}]\n")
	if _, err := New(cfg, testRoot{}); err != nil {
		t.Fatalf("a minimal tuotempo section: %v", err)
	}
	if time.Duration(cfg.Remote.Timeout) != 30*time.Second {
		t.Errorf("remote timeout: %v", time.Duration(cfg.Remote.Timeout))
	}
	if e := cfg.Exports[0]; e.TimeZone != "Europe/Madrid" || e.File != "appointments_{time}.csv" || e.Mapping != "tuotempo/export" || time.Duration(e.Window.Before) != 24*time.Hour || time.Duration(e.Window.After) != 72*time.Hour {
		t.Errorf("export defaults: %+v", e)
	}
	if cc := cfg.Cancellations[0]; cc.Pattern != "cancellations_*.csv" || time.Duration(cc.Every) != time.Minute || time.Duration(cc.MinAge) != time.Minute || cc.Mapping != "tuotempo/cancellation" {
		t.Errorf("cancellation defaults: %+v", cc)
	}
}

// TestPreflight: every file of the remote serve would open is opened and
// parsed, relative to the config's folder, each failure naming its key;
// a complete set passes.
func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	put := func(name string, data []byte) {
		if err := os.WriteFile(p(name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put("garbage", []byte("not PEM\n"))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(edKey, "")
	put("id_ed25519", pem.EncodeToMemory(block))
	locked, _ := ssh.MarshalPrivateKeyWithPassphrase(edKey, "", []byte("pass"))
	put("id_locked", pem.EncodeToMemory(locked))
	sshPub, _ := ssh.NewPublicKey(edKey.Public())
	put("known_hosts", []byte("files.example "+string(ssh.MarshalAuthorizedKey(sshPub))))
	if err := os.Mkdir(p("inbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	sftpSrc := func(extra string) string {
		return "remote: {kind: sftp, host: files.example, user: u, " + extra + "}\n"
	}
	cases := []struct{ name, src, want string }{
		{"sftp files present", sftpSrc("key_file: id_ed25519, known_hosts: known_hosts"), ""},
		{"sftp known_hosts missing", sftpSrc("key_file: id_ed25519, known_hosts: nope"), "connectors.tuotempo.remote.known_hosts: open"},
		{"sftp key missing", sftpSrc("key_file: nope, known_hosts: known_hosts"), "connectors.tuotempo.remote.key_file: open"},
		{"sftp key not a key", sftpSrc("key_file: garbage, known_hosts: known_hosts"), "connectors.tuotempo.remote.key_file: parsing"},
		{"sftp key locked", sftpSrc("key_file: id_locked, known_hosts: known_hosts"), "connectors.tuotempo.remote.key_file: " + p("id_locked") + " is encrypted"},
		{"sftp fingerprint malformed", sftpSrc("key_file: id_ed25519, host_key_fingerprint: 'MD5:aa'"), "connectors.tuotempo.remote.host_key_fingerprint: want"},
		{"ftp CA missing", "remote: {kind: ftp, host: h, user: u, tls: true, ca_file: nope.pem}\n", "connectors.tuotempo.remote.ca_file: open"},
		{"ftp CA not PEM", "remote: {kind: ftp, host: h, user: u, tls: true, ca_file: garbage}\n", "connectors.tuotempo.remote.ca_file: " + p("garbage") + " holds no PEM certificate"},
		{"local folder missing", "remote: {kind: local, dir: nope}\n", "connectors.tuotempo.remote.dir: stat"},
		{"local folder is a file", "remote: {kind: local, dir: garbage}\n", "connectors.tuotempo.remote.dir: " + p("garbage") + " is not a folder"},
		{"local folder present", "remote: {kind: local, dir: inbox}\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(decode(t, c.src), testRoot{dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			err = m.CheckConfig()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}
