package main

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testTokenHash = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

// writeConfig writes src as dir/fhirbridge.yaml.
func writeConfig(t *testing.T, dir, src string) string {
	t.Helper()
	p := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckServeSecurity: check --config says whether serve would run
// with authentication, TLS and mutual TLS, and an empty override of a
// security setting fails check naming the key instead of switching it off.
func TestCheckServeSecurity(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, dir, "ca")
	crt, key, _ := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	secure := "data_dir: " + dir + "\nserver:\n  listen: 127.0.0.1:0\n  tokens: [" + testTokenHash + "]\n  tls: {cert_file: " + crt + ", key_file: " + key + ", client_ca_file: " + ca.caFile + "}\n"
	cases := []struct {
		name, src string
		env       map[string]string
		code      int
		want      string
	}{
		{"all on", secure, nil, 0, "serve: listen 127.0.0.1:0, auth on (1 bearer token(s)), TLS on, mutual TLS on, store sqlite://"},
		{"all off", "server: {listen: '127.0.0.1:0'}\n", nil, 0, "auth OFF (no server.tokens: loopback only), TLS OFF, mutual TLS OFF"},
		{"TLS without mTLS", "server:\n  listen: 127.0.0.1:0\n  tokens: [" + testTokenHash + "]\n  tls: {cert_file: " + crt + ", key_file: " + key + "}\n", nil, 0, "auth on (1 bearer token(s)), TLS on, mutual TLS OFF"},
		{"empty tokens override", secure, map[string]string{"FHIRBRIDGE_SERVER__TOKENS": ""}, 1, "FHIRBRIDGE_SERVER__TOKENS (server.tokens): empty value for a security setting"},
		{"empty cert override", secure, map[string]string{"FHIRBRIDGE_SERVER__TLS__CERT_FILE": ""}, 1, "(server.tls.cert_file): empty value"},
		{"empty client CA override", secure, map[string]string{"FHIRBRIDGE_SERVER__TLS__CLIENT_CA_FILE": ""}, 1, "(server.tls.client_ca_file): empty value"},
		{"empty tokens in the file", "server:\n  listen: 127.0.0.1:0\n  tokens: []\n", nil, 1, "server.tokens: empty value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			out, stderr, code := run(t, "", "check", "--config", writeConfig(t, t.TempDir(), c.src))
			if code != c.code || !strings.Contains(out+stderr, c.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, c.code, c.want, out, stderr)
			}
		})
	}
}

// TestDatabasePasswordNeverPrinted plants a canary password in
// database.url and looks for it in everything check and serve print.
func TestDatabasePasswordNeverPrinted(t *testing.T) {
	const canary = "CANARY-DBPW-5309"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String() // closed below: nothing listens there
	l.Close()
	refusing := "postgres://app:" + canary + "@" + refused + "/fhirbridge?connect_timeout=5"
	cases := []struct {
		name string
		args []string
		src  string
		env  map[string]string
		code int
		want string
	}{
		{"check: a YAML error beside the URL", []string{"check"}, "database:\n  url: " + refusing + "\n  colour: blue\n", nil, 1, "unknown field"},
		{"check: an invalid URL", []string{"check"}, "database:\n  url: postgres://app:" + canary + "@db.example:99999/x\n", nil, 1, "database.url"},
		{"check: an unparsable password", []string{"check"}, "database:\n  url: postgres://app:" + canary + "%zz@db.example/x\n", nil, 1, "database.url"},
		{"check: a good URL from {env:}", []string{"check"}, "database:\n  url: {env: TEST_DB_URL}\n", map[string]string{"TEST_DB_URL": refusing}, 0, "store postgres://app:[redacted]@" + refused},
		{"check: a good URL from the override", []string{"check"}, "server: {listen: '127.0.0.1:0'}\n", map[string]string{"FHIRBRIDGE_DATABASE__URL": refusing}, 0, "[redacted]"},
		{"serve: the server refuses", []string{"serve"}, "server: {listen: '127.0.0.1:0'}\ndatabase:\n  url: {env: TEST_DB_URL}\n", map[string]string{"TEST_DB_URL": refusing}, 2, "opening the store postgres://app:[redacted]@"},
		{"serve: an invalid URL override", []string{"serve"}, "server: {listen: '127.0.0.1:0'}\n", map[string]string{"FHIRBRIDGE_DATABASE__URL": "postgres://app:" + canary + "@h:99999/x"}, 2, "database.url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			args := append(c.args, "--config", writeConfig(t, t.TempDir(), c.src))
			out, stderr, code := run(t, "", args...)
			if code != c.code || !strings.Contains(out+stderr, c.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, c.code, c.want, out, stderr)
			}
			if strings.Contains(out+stderr, canary) {
				t.Errorf("the password printed:\n%s%s", out, stderr)
			}
		})
	}
}

// TestCheckFilesAndAddresses: check --config fails, naming the key, on a
// file serve could not open or an address it could not use.
func TestCheckFilesAndAddresses(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, dir, "ca")
	crt, key, _ := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tlsSrc := func(cert, key string) string {
		return "server:\n  listen: 127.0.0.1:0\n  tokens: [" + testTokenHash + "]\n  tls: {cert_file: " + cert + ", key_file: " + key + "}\n"
	}
	cases := []struct {
		name, src string
		code      int
		want      string
	}{
		{"files present", tlsSrc(crt, key), 0, "TLS on"},
		{"missing key_file", tlsSrc(crt, filepath.Join(dir, "missing.key")), 1, "server.tls.key_file: open " + filepath.Join(dir, "missing.key")},
		{"missing cert_file", tlsSrc(filepath.Join(dir, "missing.crt"), key), 1, "server.tls.cert_file: open"},
		{"missing client CA", "server:\n  listen: 127.0.0.1:0\n  tls: {cert_file: " + crt + ", key_file: " + key + ", client_ca_file: " + filepath.Join(dir, "no-ca.pem") + "}\n", 1, "server.tls.client_ca_file: open"},
		{"port above 65535", "server: {listen: 'localhost:99999'}\n", 1, `server.listen "localhost:99999": port "99999" is not 1-65535`},
		{"an address not of this machine", "server: {listen: '192.0.2.1:8080', tokens: ['" + testTokenHash + "']}\n", 1, "server.listen 192.0.2.1:8080: serve could not listen"},
		{"an address in use is a note", "server: {listen: '" + busy.Addr().String() + "'}\n", 0, "note: server.listen " + busy.Addr().String() + " is in use now"},
		{"sftp known_hosts missing", "server: {listen: '127.0.0.1:0'}\nconnectors:\n  tuotempo:\n    remote: {kind: sftp, host: files.example, user: u, password: {env: TEST_SFTP_PW}, known_hosts: missing_known_hosts}\n", 1, "connectors.tuotempo.remote.known_hosts: open"},
		{"sftp port out of range", "server: {listen: '127.0.0.1:0'}\nconnectors:\n  tuotempo:\n    remote: {kind: sftp, host: files.example, port: 99999, user: u, password: {env: TEST_SFTP_PW}, host_key_fingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU'}\n", 1, "connectors.tuotempo.remote.port"},
		{"mail port out of range", "server: {listen: '127.0.0.1:0'}\nmail: {host: smtp.example, port: 99999, from: a@example.org}\n", 1, "mail.port"},
	}
	t.Setenv("TEST_SFTP_PW", "pw")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := run(t, "", "check", "--config", writeConfig(t, t.TempDir(), c.src))
			if code != c.code || !strings.Contains(out+stderr, c.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, c.code, c.want, out, stderr)
			}
		})
	}
}

// withoutServeSummary drops the "serve: …" line and a "note: …" line that
// check --config prints after "ok  FILE", for tests that count the
// --connect lines.
func withoutServeSummary(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "serve: listen ") && !strings.HasPrefix(l, "note: server.listen ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
