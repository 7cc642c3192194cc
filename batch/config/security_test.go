package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/fhirbridge/fhirbridge/connectors/tuotempo" // its section's security settings
)

// TestEmptySecurityValuesRefused: an empty override variable or an empty
// key in the file for a token, TLS file, host key pin or secret is an
// error naming the key, never a silent "off".
func TestEmptySecurityValuesRefused(t *testing.T) {
	const secure = "server:\n  listen: 127.0.0.1:8443\n  tokens: [" + token + "]\n  tls: {cert_file: c.pem, key_file: k.pem, client_ca_file: ca.pem}\n"
	const sftp = "connectors:\n  tuotempo:\n    remote: {kind: sftp, host: h, user: u, key_file: id, known_hosts: kh}\n"
	cases := []struct {
		name, src string
		env       []string
		want      string
	}{
		{"empty tokens override", secure, []string{"FHIRBRIDGE_SERVER__TOKENS="}, "FHIRBRIDGE_SERVER__TOKENS (server.tokens): empty value"},
		{"tokens override of commas only", secure, []string{"FHIRBRIDGE_SERVER__TOKENS= , "}, "server.tokens"},
		{"empty cert override", secure, []string{"FHIRBRIDGE_SERVER__TLS__CERT_FILE="}, "(server.tls.cert_file): empty value"},
		{"empty key override", secure, []string{"FHIRBRIDGE_SERVER__TLS__KEY_FILE="}, "(server.tls.key_file): empty value"},
		{"empty client CA override", secure, []string{"FHIRBRIDGE_SERVER__TLS__CLIENT_CA_FILE="}, "(server.tls.client_ca_file): empty value"},
		{"blank secret override", "", []string{"FHIRBRIDGE_CONNECTORS__SOLO__BASE_URL=https://s.example", "FHIRBRIDGE_CONNECTORS__SOLO__API_KEY= "}, "(connectors.solo.api_key): empty value"},
		{"empty known_hosts override", sftp, []string{"FHIRBRIDGE_CONNECTORS__TUOTEMPO__REMOTE__KNOWN_HOSTS="}, "(connectors.tuotempo.remote.known_hosts): empty value"},
		{"empty mail tls override", "mail: {host: smtp.example, from: a@example.org}\n", []string{"FHIRBRIDGE_MAIL__TLS="}, "(mail.tls): empty value"},
		{"empty database url override", "", []string{"FHIRBRIDGE_DATABASE__URL="}, "(database.url): empty value"},
		{"tokens: [] in the file", "server:\n  tokens: []\n", nil, "server.tokens: empty value"},
		{"empty cert and key in the file", "server:\n  tls: {cert_file: '', key_file: ''}\n", nil, "server.tls.cert_file: empty value"},
		{"null client CA in the file", "server:\n  tls:\n    client_ca_file:\n", nil, "server.tls.client_ca_file: empty value"},
		{"null ftp tls in the file", "connectors:\n  tuotempo:\n    remote: {kind: ftp, host: h, user: u, tls: }\n", nil, "connectors.tuotempo.remote.tls: empty value"},
		{"null secret in the file", "mail: {host: smtp.example, from: a@example.org, password: }\n", nil, "mail.password: empty value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.src != "" {
				path = write(t, c.src)
			}
			_, err := Load(path, c.env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	// an empty value of a setting that is not about security keeps its default
	if c, err := Load("", []string{"FHIRBRIDGE_SERVER__LISTEN="}); err != nil || c.Server.Listen != "127.0.0.1:8080" {
		t.Errorf("an empty listen override: %v", err)
	}
}

const canary = "CANARY-PW-4711"

// TestDatabaseURLSecret: database.url may be a secret; it resolves, and
// its password is in no print and no error.
func TestDatabaseURLSecret(t *testing.T) {
	dir := t.TempDir()
	pgURL := "postgres://app:" + canary + "@db.example:5432/fhirbridge"
	file := filepath.Join(dir, "db-url")
	os.WriteFile(file, []byte(pgURL+"\n"), 0o600)
	t.Setenv("DB_URL_FOR_TEST", pgURL)
	ok := []struct{ name, src string }{
		{"from {env:}", "database:\n  url: {env: DB_URL_FOR_TEST}\n"},
		{"from {file:}", "database:\n  url: {file: " + file + "}\n"},
		{"written in the file", "database:\n  url: " + pgURL + "\n"},
		{"from the override", ""},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.src != "" {
				path = write(t, c.src)
			}
			cfg, err := Load(path, []string{"FHIRBRIDGE_DATABASE__URL=" + pgURL}[:boolInt(c.src == "")])
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Database.URL.Reveal() != pgURL {
				t.Errorf("url = %q", cfg.Database.URL.Reveal())
			}
			js, _ := json.Marshal(cfg.Database)
			for _, out := range []string{fmt.Sprint(cfg.Database), fmt.Sprintf("%+v %#v %s %q", cfg, cfg.Database, cfg.Database.URL, cfg.Database.URL), string(js), cfg.ServeSummary()} {
				if strings.Contains(out, canary) {
					t.Errorf("the password printed: %s", out)
				}
				if !strings.Contains(out, "db.example") {
					t.Errorf("the redacted URL should still name the host: %s", out)
				}
			}
		})
	}
	bad := []struct{ name, src, want string }{
		{"unknown key beside it (the YAML error quotes the line)", "database:\n  url: " + pgURL + "\n  colour: x\n", "unknown field"},
		{"a list where the URL belongs", "database:\n  url: [" + pgURL + "]\n", "want a URL"},
		{"a port out of range", "database:\n  url: postgres://app:" + canary + "@db.example:99999/x\n", `database.url: host "db.example:99999": port "99999" is not 1-65535`},
		{"a bad escape in the password", "database:\n  url: postgres://app:" + canary + "%zz@db.example/x\n", "database.url: not a PostgreSQL URL"},
		{"an unescaped @ and space in the password", "database:\n  url: 'postgres://app:" + canary + " @x@db.example/x'\n  colour: x\n", "unknown field"},
		{"a keyword password in the query", "database:\n  url: postgres://db.example/x?password=" + canary + "\n  colour: x\n", "unknown field"},
		{"another scheme", "database:\n  url: mysql://app:" + canary + "@db.example/x\n", "database.url: want sqlite://PATH or postgres://"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(write(t, c.src), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error holds the password:\n%v", err)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRedactPasswords: URL userinfo passwords and password=VALUE pairs.
func TestRedactPasswords(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://u:" + canary + "@h:5432/db", "postgres://u:[redacted]@h:5432/db"},
		{"  2 |   url: postgres://u:" + canary + "/x@y@h/db", "  2 |   url: postgres://u:[redacted]@h/db"},
		{"postgres://h/db?sslmode=require&password=" + canary + "&x=1", "postgres://h/db?sslmode=require&password=[redacted]&x=1"},
		{"host=h password='" + canary + " x' user=u", "host=h password=[redacted] user=u"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"sqlite://data/fhirbridge.db", "sqlite://data/fhirbridge.db"},
	}
	for _, c := range cases {
		if got := RedactPasswords(c.in); got != c.want {
			t.Errorf("RedactPasswords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestAddressesChecked: every address serve listens on or dials has a
// valid host and a port in range, or Load says which key is wrong.
func TestAddressesChecked(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"listen port above 65535", "server: {listen: 'localhost:99999'}\n", `server.listen "localhost:99999": port "99999" is not 1-65535`},
		{"listen port not a number", "server: {listen: 'localhost:http'}\n", `server.listen "localhost:http": port`},
		{"mail port", "mail: {host: smtp.example, from: a@example.org, port: -1}\n", `mail.port: port "-1" is not 1-65535`},
		{"mail host", "mail: {host: 'smtp example', from: a@example.org}\n", `mail.host: "smtp example"`},
		{"solo base_url port", "connectors:\n  solo: {base_url: 'https://s.example:99999'}\n", "connectors.solo.base_url: port \"99999\""},
		{"ehr url port 0", "ehr: {fhir_base_url: 'https://ehr.example:0/fhir'}\n", "ehr.fhir_base_url: port \"0\""},
		{"database port", "database: {url: 'postgres://db.example:65536/x'}\n", `database.url: host "db.example:65536": port "65536"`},
		{"sqlite without a path", "database: {url: 'sqlite://'}\n", "database.url: sqlite://PATH needs a path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(write(t, c.src), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	for _, src := range []string{
		"server: {listen: '127.0.0.1:0'}\n", "server: {listen: '[::1]:65535'}\n",
		"database: {url: 'postgres://a.example:5432,b.example/x'}\n", "database: {url: 'postgres://[::1]/x'}\n",
		"mail: {host: '::1', from: a@example.org, port: 25, tls: none}\n",
	} {
		if _, err := Load(write(t, src), nil); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// TestPreflight: every file serve would open is opened and parsed, each
// failure naming its key; a complete set passes.
func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	put := func(name string, data []byte) { os.WriteFile(p(name), data, 0o600) }
	certPEM, keyPEM := selfSigned(t)
	put("cert.pem", certPEM)
	put("key.pem", keyPEM)
	put("garbage", []byte("not PEM\n"))

	tlsSrc := func(cert, key, ca string) string {
		return fmt.Sprintf("server:\n  tokens: [%s]\n  tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n", token, cert, key, ca)
	}
	cases := []struct{ name, src, want string }{
		{"all present", tlsSrc(p("cert.pem"), p("key.pem"), p("cert.pem")), ""},
		{"missing key_file", tlsSrc(p("cert.pem"), p("nokey.pem"), p("cert.pem")), "server.tls.key_file: open " + p("nokey.pem")},
		{"missing cert_file", tlsSrc(p("nocert.pem"), p("key.pem"), p("cert.pem")), "server.tls.cert_file: open"},
		{"cert and key not a pair", tlsSrc(p("cert.pem"), p("garbage"), p("cert.pem")), "server.tls.cert_file, server.tls.key_file: not a PEM certificate"},
		{"client CA without a certificate", tlsSrc(p("cert.pem"), p("key.pem"), p("garbage")), "server.tls.client_ca_file: " + p("garbage") + " holds no PEM certificate"},
		{"mail CA not PEM", "mail: {host: smtp.example, from: a@example.org, ca_file: " + p("garbage") + "}\n", "mail.ca_file: "},
		{"report folder is a file", "connectors:\n  solo:\n    base_url: https://s.example\n    reports: {temp_dir: " + p("garbage") + "}\n", "connectors.solo.reports.temp_dir: " + p("garbage") + " is not a folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "fhirbridge.yaml")
			os.WriteFile(path, []byte(c.src), 0o600)
			cfg, err := Load(path, []string{"FHIRBRIDGE_CONNECTORS__SOLO__API_KEY=k"}[:boolInt(strings.Contains(c.src, "solo"))])
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Preflight()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// selfSigned makes a PEM certificate and its key.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
