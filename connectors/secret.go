package connectors

import "fmt"

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
