package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Secret is a credential. In the file it names where the value lives —
// `{env: NAME}` or `{file: PATH}` — never the value itself; the override
// variable FHIRBRIDGE_<PATH> may carry the value. It prints "[redacted]"
// in every format and marshals redacted.
type Secret struct {
	value  string
	source string // "env NAME", "file PATH" or "environment override"
}

const redacted = "[redacted]"

// UnmarshalYAML reads {env: NAME} or {file: PATH} and resolves it.
func (s *Secret) UnmarshalYAML(b []byte) error {
	var ref struct {
		Env  string `yaml:"env"`
		File string `yaml:"file"`
	}
	if err := yaml.UnmarshalWithOptions(b, &ref, yaml.DisallowUnknownField()); err != nil {
		return errors.New("a secret is {env: NAME} or {file: PATH}: values are not written in the config file")
	}
	v, source, err := connectors.ResolveSecret(ref.Env, ref.File)
	if err != nil {
		return err
	}
	*s = Secret{value: v, source: source}
	return nil
}

// Reveal returns the value, for the one place that sends it.
func (s Secret) Reveal() string { return s.value }

// Set reports whether the secret has a value.
func (s Secret) Set() bool { return s.value != "" }

// Source says where the value came from, never the value.
func (s Secret) Source() string { return s.source }

// String, GoString and Format keep the value out of every print.
func (s Secret) String() string { return redacted }

// GoString is String.
func (s Secret) GoString() string { return redacted }

// Format prints redacted for every verb.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, redacted) }

// MarshalJSON writes redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalYAML writes redacted.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// DatabaseURL is database.url. A URL without a password may be written in
// the file (sqlite://PATH); one that holds a password is better a secret,
// `{env: NAME}` or `{file: PATH}`, or the override FHIRBRIDGE_DATABASE__URL.
// However it was given, it prints with the password redacted.
type DatabaseURL struct{ Secret }

// UnmarshalYAML reads a URL, or {env: NAME} / {file: PATH}.
func (d *DatabaseURL) UnmarshalYAML(b []byte) error {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return errors.New("want a URL, or a secret {env: NAME} or {file: PATH}")
	}
	switch s := v.(type) {
	case nil:
		*d = DatabaseURL{}
	case string:
		*d = DatabaseURL{Secret{value: s, source: "config file"}}
	case map[string]any:
		return d.Secret.UnmarshalYAML(b)
	default:
		return errors.New("want a URL, or a secret {env: NAME} or {file: PATH}")
	}
	return nil
}

// String is the URL with any password redacted.
func (d DatabaseURL) String() string { return RedactPasswords(d.value) }

// GoString is String.
func (d DatabaseURL) GoString() string { return d.String() }

// Format prints String for every verb.
func (d DatabaseURL) Format(f fmt.State, _ rune) { fmt.Fprint(f, d.String()) }

// MarshalJSON writes String.
func (d DatabaseURL) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// MarshalYAML writes String.
func (d DatabaseURL) MarshalYAML() (any, error) { return d.String(), nil }

var (
	// urlPassword is the password of scheme://user:password@host, up to
	// the last '@' of the line, so that a password holding an unescaped
	// '@', '/' or space (an invalid URL) is still covered.
	urlPassword = regexp.MustCompile(`(://[^:@/\s]*:)[^\n]*@`)
	// kvPassword is password=VALUE in a query string or a keyword/value
	// connection string, quoted or not.
	kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'?|"[^"]*"?|[^\s&]+)`)
)

// RedactPasswords replaces the passwords of URLs (scheme://user:PASSWORD@)
// and of password=VALUE pairs in s with [redacted]: for error messages and
// log lines that may quote a connection string.
func RedactPasswords(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+redacted+"@")
	return kvPassword.ReplaceAllString(s, "${1}"+redacted)
}
