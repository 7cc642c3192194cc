package connectors

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Secret is a credential. Every fmt verb, JSON and text marshalling print
// "[redacted]"; only Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]" (the %#v verb).
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb, so %q, %x and %+v cannot
// leak the value either.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON returns the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]" (YAML and other text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalText sets the secret from configuration text.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// UnmarshalYAML reads a secret from a configuration file, where it names
// where the value lives — {env: NAME} or {file: PATH} (trailing line
// breaks dropped) — never the value itself. An unset or empty variable,
// an unreadable or empty file, or a written value is an error.
func (s *Secret) UnmarshalYAML(unmarshal func(any) error) error {
	var written string
	if unmarshal(&written) == nil {
		if strings.TrimSpace(written) == "" {
			*s = "" // empty: the application's check of empty security values names the key
			return nil
		}
		return errors.New("a secret is {env: NAME} or {file: PATH}: values are not written in the config file")
	}
	var ref struct {
		Env  string `yaml:"env"`
		File string `yaml:"file"`
	}
	if err := unmarshal(&ref); err != nil {
		return errors.New("a secret is {env: NAME} or {file: PATH}: values are not written in the config file")
	}
	v, _, err := ResolveSecret(ref.Env, ref.File)
	if err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}

// ResolveSecret reads a secret reference of a configuration file: exactly
// one of env (a variable, which must be set and not empty) and file (read
// whole, trailing line breaks dropped, not empty). source says where the
// value came from ("env NAME", "file PATH"), never the value.
func ResolveSecret(env, file string) (value, source string, err error) {
	switch {
	case env != "" && file == "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", "", fmt.Errorf("secret: environment variable %s is not set", env)
		}
		return v, "env " + env, nil
	case file != "" && env == "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("secret: reading %s: %w", file, errors.Unwrap(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", "", fmt.Errorf("secret: %s is empty", file)
		}
		return v, "file " + file, nil
	default:
		return "", "", errors.New("a secret is {env: NAME} or {file: PATH}, exactly one")
	}
}

// Duration is a time.Duration written in configuration files as a Go
// duration string ("30s", "5m").
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return errors.New("a duration is a string such as 30s or 5m")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 5m)", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalText reads a Go duration string (environment overrides).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 5m)", b)
	}
	*d = Duration(v)
	return nil
}

// String prints the duration as Go does ("30s").
func (d Duration) String() string { return time.Duration(d).String() }
