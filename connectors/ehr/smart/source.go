package smart

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// ErrRefused: the token endpoint refused the client (a 400 or 401 answer:
// wrong client id, key, kid or scopes). Retrying without a change to the
// configuration or the EHR's registration repeats it; errors wrapping it
// are marked connectors.NeedsReconnect, so the delivery queue keeps the
// pushes and opens the circuit.
var ErrRefused = errors.New("the EHR's token endpoint refused the client")

// DefaultScopes are the scopes asked for when the configuration names
// none: read and update of what the flows write back (SMART v2 scope
// syntax: r = read, u = update, c = create, s = search).
var DefaultScopes = []string{
	"system/Appointment.rus",
	"system/Encounter.cru",
	"system/Patient.crs",
	"system/Slot.ru",
	"system/QuestionnaireResponse.cru",
	"system/Communication.cru",
	"system/Task.cru",
}

// Config is what a Source needs.
type Config struct {
	// BaseURL is the EHR's FHIR base; the token endpoint is discovered at
	// BaseURL/.well-known/smart-configuration unless TokenURL is set.
	BaseURL string
	// TokenURL is the token endpoint, when known; "" discovers it.
	TokenURL string
	// ClientID is the client id the EHR registered for the bridge.
	ClientID string
	// KeyID is the kid of the key in the bridge's JWKS ("" sends none).
	KeyID string
	// Alg is RS384 or ES384; Key is its private key (ParsePrivateKey).
	Alg string
	Key crypto.Signer
	// Scopes are asked for (DefaultScopes when empty).
	Scopes []string
	// Client sends the requests; nil means a client with a 30 s timeout
	// that does not follow redirects.
	Client *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Source issues access tokens for the EHR: cached, renewed before
// expiry, one request at a time. Make it with New; it is safe for
// concurrent use.
type Source struct {
	cfg    Config
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	tokenURL string // discovered or configured
	tok      string
	renewAt  time.Time
	expires  time.Time
	flight   *flight
	fetches  int
}

// flight is one token request under way, shared by its waiters.
type flight struct {
	done chan struct{}
	tok  string
	err  error
}

// New checks cfg and returns its Source. Nothing is sent until Token.
func New(cfg Config) (*Source, error) {
	if err := CheckURL(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("SMART: the FHIR base: %w", err)
	}
	if cfg.TokenURL != "" {
		if err := CheckURL(cfg.TokenURL); err != nil {
			return nil, fmt.Errorf("SMART: token_url: %w", err)
		}
	}
	if cfg.ClientID == "" {
		return nil, errors.New("SMART: client_id is required")
	}
	if cfg.Key == nil {
		return nil, errors.New("SMART: private_key is required")
	}
	if _, err := checkKey(cfg.Key, cfg.Alg); err != nil {
		return nil, fmt.Errorf("SMART: private_key: %w", err)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return nil, fmt.Errorf("SMART: scope %q: one scope per entry, no spaces or quotes", s)
		}
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	client = connectors.TracedClient(client)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Source{cfg: cfg, client: client, now: now, tokenURL: cfg.TokenURL}, nil
}

// Token returns an access token, fetching one when none is cached or the
// cached one is due for renewal. When a renewal fails while the cached
// token has not expired yet, the cached token is returned. Errors are
// classified for the delivery queue (connectors.Classify): a network
// failure, 408, 429 or 5xx is transient, a refusal (ErrRefused) or an
// unusable answer needs a reconnect.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.now()
	if s.tok != "" && now.Before(s.renewAt) {
		tok := s.tok
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		go s.fetch(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", fmt.Errorf("SMART token: %w", ctx.Err())
	}
	if f.err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.tok != "" && s.now().Before(s.expires) {
			return s.tok, nil // the old token still works: renew next time
		}
		return "", f.err
	}
	return f.tok, nil
}

// Invalidate drops tok from the cache when it is the cached token (the
// EHR answered 401 to it), so the next Token fetches a new one. A token
// already replaced is left alone: a concurrent caller renewed it.
func (s *Source) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok != "" && s.tok == tok {
		s.tok, s.renewAt, s.expires = "", time.Time{}, time.Time{}
	}
}

// Fetches reports how many token requests were answered with a token
// (for metrics and tests).
func (s *Source) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// fetch runs one token request for f and caches its token.
func (s *Source) fetch(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tok, err := s.request(ctx)
	s.mu.Lock()
	if err == nil {
		issued := s.now()
		s.tok = tok.AccessToken
		s.expires = issued.Add(tok.ExpiresIn)
		s.renewAt = issued.Add(RenewAfter(tok.ExpiresIn))
		s.fetches++
		f.tok = tok.AccessToken
	}
	f.err = err
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// RenewAfter is when, after issue, a token living d is renewed: at 80 %
// of d or 60 s before it expires, whichever comes first.
func RenewAfter(d time.Duration) time.Duration {
	r := d * 4 / 5
	if early := d - time.Minute; early > 0 && early < r {
		r = early
	}
	return r
}

// TokenURL returns the token endpoint, discovering it on first use.
func (s *Source) TokenURL(ctx context.Context) (string, error) {
	s.mu.Lock()
	u := s.tokenURL
	s.mu.Unlock()
	if u != "" {
		return u, nil
	}
	c, err := Discover(ctx, s.client, s.cfg.BaseURL)
	if err != nil {
		return "", err
	}
	if err := c.Supports(s.cfg.Alg); err != nil {
		return "", connectors.NeedsReconnect(fmt.Errorf("SMART discovery: %w", err))
	}
	s.mu.Lock()
	s.tokenURL = c.TokenEndpoint
	s.mu.Unlock()
	return c.TokenEndpoint, nil
}

// request asks the token endpoint for a token.
func (s *Source) request(ctx context.Context) (Token, error) {
	tokenURL, err := s.TokenURL(ctx)
	if err != nil {
		return Token{}, err
	}
	assertion, err := Assertion(s.cfg.ClientID, tokenURL, s.cfg.KeyID, s.cfg.Alg, s.cfg.Key, s.now())
	if err != nil {
		return Token{}, connectors.NeedsReconnect(err)
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {strings.Join(s.cfg.Scopes, " ")},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, connectors.NeedsReconnect(fmt.Errorf("SMART token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	body, status, err := do(s.client, req)
	if err != nil {
		return Token{}, connectors.Transiently(fmt.Errorf("SMART token request: %w", err), 0)
	}
	switch {
	case status/100 == 2:
		t, err := ParseTokenResponse(body)
		if err != nil {
			return Token{}, connectors.NeedsReconnect(fmt.Errorf("SMART token request: %w", err))
		}
		return t, nil
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return Token{}, connectors.Transiently(fmt.Errorf("SMART token request: status %d", status), 0)
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		code := ParseTokenError(body)
		if code == "" {
			code = "no OAuth error code"
		}
		return Token{}, connectors.NeedsReconnect(fmt.Errorf("SMART token request: status %d (%s): %w", status, code, ErrRefused))
	}
	return Token{}, connectors.NeedsReconnect(fmt.Errorf("SMART token request: status %d", status))
}

// Discover reads the SMART configuration of the FHIR base base. Network
// failures and 5xx answers are transient; a missing or unusable document
// needs a reconnect (a configuration fix).
func Discover(ctx context.Context, client *http.Client, base string) (Configuration, error) {
	b, err := url.Parse(base)
	if err != nil {
		return Configuration{}, connectors.NeedsReconnect(errors.New("SMART discovery: the FHIR base is not a URL"))
	}
	path := connectors.PathOf("/.well-known/smart-configuration")
	u, err := path.URL(b)
	if err != nil {
		return Configuration{}, connectors.NeedsReconnect(fmt.Errorf("SMART discovery: %w", err))
	}
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, path), http.MethodGet, u.String(), nil)
	if err != nil {
		return Configuration{}, connectors.NeedsReconnect(fmt.Errorf("SMART discovery: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	body, status, err := do(client, req)
	if err != nil {
		return Configuration{}, connectors.Transiently(fmt.Errorf("SMART discovery: %w", err), 0)
	}
	if status/100 != 2 {
		err := fmt.Errorf("SMART discovery: GET .well-known/smart-configuration: status %d (set ehr.smart.token_url when the EHR publishes none)", status)
		if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
			return Configuration{}, connectors.Transiently(err, 0)
		}
		return Configuration{}, connectors.NeedsReconnect(err)
	}
	c, err := ParseConfiguration(body)
	if err != nil {
		return Configuration{}, connectors.NeedsReconnect(fmt.Errorf("SMART discovery: %w", err))
	}
	return c, nil
}

// do sends req and reads at most MaxBody bytes of the answer (more is an
// error). Its errors drop the URL the http package repeats.
func do(client *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, 0, fmt.Errorf("reading the answer: %w", err)
	}
	if len(body) > MaxBody {
		return nil, 0, fmt.Errorf("the answer is over %d bytes", MaxBody)
	}
	return body, resp.StatusCode, nil
}

// Format prints the client id and algorithm only, for every verb: the
// key and the cached token are never printed, even by %+v of a struct
// that holds a Source.
func (s *Source) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "smart.Source{client_id: %q, alg: %s}", s.cfg.ClientID, s.cfg.Alg)
}

// Format prints the client id and algorithm only, for every verb (the
// key is never printed).
func (c Config) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "smart.Config{client_id: %q, alg: %s}", c.ClientID, c.Alg)
}
