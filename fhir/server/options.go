package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Defaults applied by New for zero Options fields.
const (
	DefaultBodyLimit  = 10 << 20        // 10 MiB, before and after decompression
	DefaultMaxEntries = 1000            // entries of one Bundle
	DefaultRetryAfter = 5 * time.Second // Retry-After of a 503
	// DefaultMaxElements caps the JSON values of one body: twenty times a
	// 1,000-entry Bundle of 10-value resources, and about 130 MB of peak
	// memory to decode and validate in the worst case (TestPeakRSS).
	DefaultMaxElements = 200_000
	// DefaultMaxArray caps the items of one JSON array: ten times
	// DefaultMaxEntries; other FHIR arrays hold a handful of items.
	DefaultMaxArray = 10_000
	// DefaultMaxDecodes is how many bodies are decoded and validated at
	// once: the work is CPU-bound, and each one may cost ~130 MB.
	DefaultMaxDecodes = 2
	// DefaultDecodeWait is how long a body waits for a decoding slot
	// before the request is answered 503.
	DefaultDecodeWait = 2 * time.Second
)

// DefaultTypes are the resource types served when Options.Types is empty.
var DefaultTypes = []string{
	"Patient", "Appointment", "Encounter", "EpisodeOfCare",
	"Practitioner", "PractitionerRole", "Location", "Organization",
}

// Options configures New. The zero value serves DefaultTypes without
// authentication.
type Options struct {
	// BodyLimit caps a request body in bytes, both as sent and after
	// gzip decompression (DefaultBodyLimit when 0). Over it: 413.
	BodyLimit int64
	// MaxDepth caps JSON nesting (fhir.DefaultMaxDepth when 0).
	MaxDepth int
	// MaxElements caps the JSON values of one body, a Bundle's entries
	// included (DefaultMaxElements when 0); MaxArray the items of one JSON
	// array (DefaultMaxArray when 0). Over either: 413, with the line,
	// column and element path where the decoder stopped. They bound the
	// memory of a body, which grows with its values, not its bytes.
	MaxElements, MaxArray int
	// MaxDecodes caps the bodies decoded and validated at once
	// (DefaultMaxDecodes when 0). The slot is taken after the body is read
	// and released before the Backend is called.
	MaxDecodes int
	// DecodeWait is how long a body waits for a decoding slot
	// (DefaultDecodeWait when 0); then it is answered 503 with Retry-After.
	DecodeWait time.Duration
	// MetricsAuth puts /metrics behind the bearer tokens (when Tokens are
	// set); by default it is open, as Prometheus scrapers expect.
	MetricsAuth bool
	// MaxEntries caps the entries of one Bundle (DefaultMaxEntries when
	// 0); a larger Bundle gets 413 without being validated, since
	// validation costs about 0.4 ms per resource.
	MaxEntries int
	// Tokens are the SHA-256 hashes of the accepted bearer tokens (see
	// HashToken). Empty means no authentication: the caller must then
	// listen on loopback only.
	Tokens []TokenHash
	// Logger receives one line per request (route, status, duration,
	// sizes; never a URL, header or body value). Default: slog.Default().
	Logger *slog.Logger
	// Registry receives the metrics. /metrics serves it when it is also a
	// prometheus.Gatherer (as *prometheus.Registry is), else
	// prometheus.DefaultGatherer. Nil: a private registry.
	Registry prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Types are the resource types accepted (DefaultTypes when empty).
	Types []string
	// RetryAfter is the delay suggested with a 503 (DefaultRetryAfter when
	// 0); it is rounded up to whole seconds.
	RetryAfter time.Duration
	// Searches answer GET /fhir/{type}?… by resource type (see Searcher);
	// the CapabilityStatement advertises each with its parameters. Types
	// without one are not searchable.
	Searches map[string]Searcher
}

// withDefaults returns opt with its zero fields set.
func (opt Options) withDefaults() Options {
	if opt.BodyLimit <= 0 {
		opt.BodyLimit = DefaultBodyLimit
	}
	if opt.MaxDepth <= 0 {
		opt.MaxDepth = fhir.DefaultMaxDepth
	}
	if opt.MaxEntries <= 0 {
		opt.MaxEntries = DefaultMaxEntries
	}
	if opt.MaxElements <= 0 {
		opt.MaxElements = DefaultMaxElements
	}
	if opt.MaxArray <= 0 {
		opt.MaxArray = DefaultMaxArray
	}
	if opt.MaxDecodes <= 0 {
		opt.MaxDecodes = DefaultMaxDecodes
	}
	if opt.DecodeWait <= 0 {
		opt.DecodeWait = DefaultDecodeWait
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if len(opt.Types) == 0 {
		opt.Types = DefaultTypes
	}
	if opt.RetryAfter <= 0 {
		opt.RetryAfter = DefaultRetryAfter
	}
	opt.Searches = maps.Clone(opt.Searches) // the caller may change its map later
	return opt
}

// TokenHash is the lower-case hex SHA-256 of a bearer token, which is what
// the configuration stores instead of the token.
type TokenHash string

// HashToken returns the TokenHash of token.
func HashToken(token string) TokenHash {
	sum := sha256.Sum256([]byte(token))
	return TokenHash(hex.EncodeToString(sum[:]))
}

// NewToken returns a new bearer token: 32 random bytes, base64url without
// padding (43 characters).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// tokenSet holds decoded token hashes for constant-time checks.
type tokenSet [][sha256.Size]byte

// ParseTokenHash checks that s is 64 hex digits and returns it as a
// TokenHash, for validating a configuration at load time.
func ParseTokenHash(s string) (TokenHash, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return "", errors.New("token hash: not 64 hex digits")
	}
	return TokenHash(hex.EncodeToString(b)), nil
}

// newTokenSet decodes hashes; it returns the positions of malformed ones,
// which match nothing (authentication stays required: it fails closed).
func newTokenSet(hashes []TokenHash) (set tokenSet, bad []int) {
	set = make(tokenSet, 0, len(hashes))
	for i, h := range hashes {
		b, err := hex.DecodeString(strings.TrimSpace(string(h)))
		if err != nil || len(b) != sha256.Size {
			bad = append(bad, i)
			continue
		}
		set = append(set, [sha256.Size]byte(b))
	}
	return set, bad
}

// match reports whether token hashes to one of the set. It compares with
// every entry in constant time, whatever matches.
func (s tokenSet) match(token string) bool {
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for i := range s {
		ok |= subtle.ConstantTimeCompare(sum[:], s[i][:])
	}
	return ok == 1
}

// NewHTTPServer returns an http.Server for h hardened against slow and
// oversized clients: headers within 5 s and 64 KiB, a whole request within
// 60 s, a response within 90 s, idle keep-alive connections closed after
// 120 s.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
