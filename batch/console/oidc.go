package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// OIDCOptions configure the login through an OpenID Connect provider: the
// authorization code flow with PKCE and a nonce; the ID token's RoleClaim
// is mapped to a role by Roles.
type OIDCOptions struct {
	// Issuer is the provider's issuer URL.
	Issuer string
	// ClientID and ClientSecret identify the console at the provider
	// (ClientSecret "" for a public client).
	ClientID, ClientSecret string
	// RedirectURL is the callback as the browser reaches it (…/console/oidc/callback).
	RedirectURL string
	// UserClaim names the claim used as user name (default
	// preferred_username); RoleClaim the claim mapped to a role (default
	// groups; a string or a list of strings).
	UserClaim, RoleClaim string
	// Roles maps values of RoleClaim to roles; the highest match wins.
	Roles map[string]Role
	// Client makes the requests to the provider (nil: a client with a
	// 10 s timeout).
	Client *http.Client
}

const (
	oidcCookieName = "fhirbridge_console_oidc"
	oidcCookieMax  = 3*tokenLen + 2
	// oidcHash marks a console_users row made by an OIDC login: not a
	// password hash, so such a user cannot log in with a password.
	oidcHash = "oidc"
)

// oidcLogin is the provider, discovered at the first login and kept.
type oidcLogin struct {
	opts OIDCOptions
	mu   sync.Mutex
	prov *oidc.Provider
}

func (o *oidcLogin) ctx(ctx context.Context) context.Context {
	c := o.opts.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return oidc.ClientContext(ctx, c)
}

// provider discovers the provider once (a failure is retried at the next
// login, so serve starts while the provider is down).
func (o *oidcLogin) provider(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.prov != nil {
		return o.prov, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering the OIDC provider: %w", err)
	}
	o.prov = p
	return p, nil
}

func (o *oidcLogin) config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.opts.ClientID, ClientSecret: o.opts.ClientSecret, RedirectURL: o.opts.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

// oidcState is what the browser carries between the redirect to the
// provider and the callback: the state, the nonce and the PKCE verifier.
type oidcState struct{ state, nonce, verifier string }

func (s oidcState) cookie() string { return s.state + "." + s.nonce + "." + s.verifier }

// parseOIDCState reads the cookie written by cookie(): three tokens.
func parseOIDCState(v string) (oidcState, error) {
	if len(v) > oidcCookieMax {
		return oidcState{}, errBadToken
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return oidcState{}, errBadToken
	}
	for _, p := range parts {
		if _, err := parseToken(p); err != nil {
			return oidcState{}, err
		}
	}
	return oidcState{parts[0], parts[1], parts[2]}, nil
}

// oidcStart redirects the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	p, err := s.oidc.provider(r.Context())
	if err != nil {
		s.opts.Logger.Warn("console: OIDC provider unavailable", "error", err.Error())
		Fail(w, r, http.StatusBadGateway, "The identity provider cannot be reached: try again later, or log in with a console user.")
		return
	}
	var st oidcState
	for _, f := range []*string{&st.state, &st.nonce, &st.verifier} {
		if *f, err = newToken(); err != nil {
			s.internal(w, r, "starting an OIDC login", err)
			return
		}
	}
	// Lax, not Strict: the callback is a top-level navigation from the
	// provider's site, which must carry this cookie.
	http.SetCookie(w, &http.Cookie{Name: oidcCookieName, Value: st.cookie(), Path: "/console/oidc/", MaxAge: 600,
		HttpOnly: true, Secure: secureCookie(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, s.oidc.config(p).AuthCodeURL(st.state, oidc.Nonce(st.nonce), oauth2.S256ChallengeOption(st.verifier)), http.StatusSeeOther)
}

// errOIDCRefused is a login the provider or the mapping refused.
var errOIDCRefused = errors.New("OIDC login refused")

// oidcCallback finishes the login: checks state, exchanges the code,
// verifies the ID token and its nonce, maps the role claim, and starts a
// session.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	remote := remoteOf(r)
	http.SetCookie(w, &http.Cookie{Name: oidcCookieName, Value: "", Path: "/console/oidc/", MaxAge: -1, HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(oidcCookieName)
	var st oidcState
	if err == nil {
		st, err = parseOIDCState(c.Value)
	}
	q := r.URL.Query()
	if err != nil || subtle.ConstantTimeCompare([]byte(st.state), []byte(q.Get("state"))) != 1 {
		Fail(w, r, http.StatusForbidden, "The login's state is missing or wrong: start the login again.")
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		s.audit(ctx, "", remote, "login.failed", "oidc: the provider refused")
		Fail(w, r, http.StatusUnauthorized, "The identity provider did not log you in.")
		return
	}
	name, role, err := s.oidcIdentity(ctx, st, q.Get("code"))
	if err != nil {
		s.opts.Logger.Warn("console: OIDC login failed", "error", err.Error())
		s.audit(ctx, "", remote, "login.failed", "oidc")
		if errors.Is(err, errOIDCRefused) {
			Fail(w, r, http.StatusForbidden, "Your identity gives no console role, or names a local console user.")
			return
		}
		Fail(w, r, http.StatusUnauthorized, "The identity provider's answer could not be verified.")
		return
	}
	tok, err := createSession(ctx, s.opts.Store, name, remote, s.opts.Now())
	if err != nil {
		s.internal(w, r, "starting a session", err)
		return
	}
	s.audit(ctx, name, remote, "login", "oidc role "+role.String())
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/console/", HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteStrictMode})
	// A SameSite=Strict cookie set at the end of a cross-site redirect
	// chain is not sent on a further redirect; a page that moves on by
	// itself starts a same-site navigation, which carries it.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/console/"><title>Logged in</title></head><body><p><a href="/console/">Continue to the console</a></p></body></html>`))
}

// oidcIdentity exchanges the code and returns the verified user and role.
func (s *Server) oidcIdentity(ctx context.Context, st oidcState, code string) (string, Role, error) {
	p, err := s.oidc.provider(ctx)
	if err != nil {
		return "", 0, err
	}
	octx := s.oidc.ctx(ctx)
	tok, err := s.oidc.config(p).Exchange(octx, code, oauth2.VerifierOption(st.verifier))
	if err != nil {
		return "", 0, fmt.Errorf("exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", 0, errors.New("the token response has no id_token")
	}
	idt, err := p.VerifierContext(octx, &oidc.Config{ClientID: s.oidc.opts.ClientID, Now: s.opts.Now}).Verify(octx, raw)
	if err != nil {
		return "", 0, fmt.Errorf("verifying the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.nonce)) != 1 {
		return "", 0, errors.New("the ID token's nonce is not the login's")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", 0, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	name, _ := claims[s.oidc.opts.UserClaim].(string)
	if err := CheckUserName(name); err != nil {
		return "", 0, fmt.Errorf("%w: claim %s is not a usable user name", errOIDCRefused, s.oidc.opts.UserClaim)
	}
	var values []string
	switch v := claims[s.oidc.opts.RoleClaim].(type) {
	case string:
		values = []string{v}
	case []any:
		for _, x := range v {
			if str, ok := x.(string); ok {
				values = append(values, str)
			}
		}
	}
	var role Role
	for _, v := range values {
		if r := s.oidc.opts.Roles[v]; r > role {
			role = r
		}
	}
	if role == 0 {
		return "", 0, fmt.Errorf("%w: no value of claim %s maps to a role", errOIDCRefused, s.oidc.opts.RoleClaim)
	}
	if err := upsertOIDCUser(ctx, s.opts.Store, name, role, s.opts.Now()); err != nil {
		return "", 0, err
	}
	return name, role, nil
}

// upsertOIDCUser records an OIDC user with the role of this login; a
// local user (with a password) of the same name is not taken over.
func upsertOIDCUser(ctx context.Context, st *store.Store, name string, role Role, now time.Time) error {
	return st.InTx(ctx, func(tx *store.Tx) error {
		var hash string
		err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT password_hash FROM console_users WHERE name = ?`), name).Scan(&hash)
		switch {
		case err == nil && hash != oidcHash:
			return fmt.Errorf("%w: %q is a local console user", errOIDCRefused, name)
		case err == nil:
			_, err = tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE console_users SET role = ?, updated_at = ? WHERE name = ?`), role.String(), micros(now), name)
		default:
			_, err = tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO console_users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
				name, role.String(), oidcHash, micros(now), micros(now))
		}
		return store.Classify("recording an OIDC console user", err)
	})
}
