package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
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
	switch {
	case ref.Env != "" && ref.File == "":
		v, ok := os.LookupEnv(ref.Env)
		if !ok || v == "" {
			return fmt.Errorf("secret: environment variable %s is not set", ref.Env)
		}
		*s = Secret{value: v, source: "env " + ref.Env}
	case ref.File != "" && ref.Env == "":
		b, err := os.ReadFile(ref.File)
		if err != nil {
			return fmt.Errorf("secret: reading %s: %w", ref.File, errors.Unwrap(err))
		}
		*s = Secret{value: strings.TrimRight(string(b), "\r\n"), source: "file " + ref.File}
	default:
		return errors.New("a secret is {env: NAME} or {file: PATH}, exactly one")
	}
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
