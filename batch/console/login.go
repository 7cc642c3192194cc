package console

import (
	"context"
	"errors"
	"net/http"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// loginPage is the login form's data.
type loginPage struct {
	Error string
	OIDC  bool
}

// loginForm shows the login form. Before a session exists the form is
// protected against cross-site posts by a double-submit token: a random
// value in a SameSite=Strict cookie whose HMAC the form carries.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok, err := newToken()
	if err != nil {
		Fail(w, r, http.StatusInternalServerError, "The console could not start a login.")
		return
	}
	raw, _ := parseToken(tok)
	http.SetCookie(w, &http.Cookie{Name: loginCookieName, Value: tok, Path: "/console/", HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	// the login form is rendered with a pre-session CSRF token
	st := &reqState{s: s, csrf: csrfFor(raw)}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
	renderStatus(w, r, status, s.own, "login", loginPage{Error: msg, OIDC: s.oidc != nil})
}

// login checks the rate limits and the password, then starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookieName)
	var raw []byte
	if err == nil {
		raw, err = parseToken(c.Value)
	}
	if err != nil || !checkCSRF(raw, r.PostFormValue("csrf")) {
		Fail(w, r, http.StatusForbidden, "The login form's security token is missing or wrong: reload the login page and try again.")
		return
	}
	name, password := r.PostFormValue("user"), r.PostFormValue("password")
	remote := remoteOf(r)
	now := s.opts.Now()
	limited, err := s.loginLimited(ctx, name, remote)
	if err != nil {
		s.internal(w, r, "checking the login rate limit", err)
		return
	}
	if limited {
		s.audit(ctx, knownName(ctx, s.opts.Store, name), remote, "login.limited", "")
		s.renderLogin(w, r, http.StatusTooManyRequests, "Too many failed logins: wait 15 minutes and try again.")
		return
	}
	role, hash, err := lookupHash(ctx, s.opts.Store, name)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNoUser) {
		s.internal(w, r, "reading a console user", err)
		return
	}
	if !known {
		hash = s.dummyHash // the same work as a real check: no timing hint of which names exist
	}
	ok, verr := VerifyPassword(password, hash)
	if verr != nil {
		s.opts.Logger.Error("console: a stored password hash is malformed", "error", verr.Error())
	}
	if !known || !ok || verr != nil || CheckUserName(name) != nil {
		if err := s.recordFailure(ctx, name, remote); err != nil {
			s.internal(w, r, "recording a failed login", err)
			return
		}
		who, target := name, ""
		if !known {
			who, target = "", "unknown user"
		}
		s.audit(ctx, who, remote, "login.failed", target)
		s.renderLogin(w, r, http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	tok, err := createSession(ctx, s.opts.Store, name, remote, now)
	if err != nil {
		s.internal(w, r, "starting a session", err)
		return
	}
	if err := s.clearFailures(ctx, name); err != nil {
		s.opts.Logger.Warn("console: clearing failed logins", "error", err.Error())
	}
	s.audit(ctx, name, remote, "login", "role "+role.String())
	http.SetCookie(w, &http.Cookie{Name: loginCookieName, Value: "", Path: "/console/", MaxAge: -1, HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/console/", HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	if err := deleteSession(r.Context(), s.opts.Store, st.sess.id); err != nil {
		s.internal(w, r, "ending a session", err)
		return
	}
	_ = Audit(r, "logout", "")
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1, HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// internal logs err (value-free: store errors carry no request data) and
// answers 500.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.opts.Logger.Error("console: "+what, "error", err.Error())
	Fail(w, r, http.StatusInternalServerError, "The console failed while "+what+".")
}

// knownName returns name when it is a user's, else "": the audit log
// never records what was typed as a user name unless it is one (a
// password typed in the wrong field stays out of it).
func knownName(ctx context.Context, st *store.Store, name string) string {
	if CheckUserName(name) != nil {
		return ""
	}
	if _, _, err := lookupHash(ctx, st, name); err != nil {
		return ""
	}
	return name
}

// loginLimited reports whether the user name or the remote address has
// failed too often within the window.
func (s *Server) loginLimited(ctx context.Context, name, remote string) (bool, error) {
	since := micros(s.opts.Now().Add(-loginWindow))
	var byUser, byRemote int
	db := s.opts.Store.DB()
	if err := db.QueryRowContext(ctx, s.opts.Store.Rebind(`SELECT COUNT(*) FROM console_login_attempts WHERE user_name = ? AND at > ?`),
		truncate(name, 64), since).Scan(&byUser); err != nil {
		return false, store.Classify("counting failed logins", err)
	}
	if err := db.QueryRowContext(ctx, s.opts.Store.Rebind(`SELECT COUNT(*) FROM console_login_attempts WHERE remote = ? AND at > ?`),
		remote, since).Scan(&byRemote); err != nil {
		return false, store.Classify("counting failed logins", err)
	}
	return byUser >= s.opts.LoginLimitUser || byRemote >= s.opts.LoginLimitRemote, nil
}

// recordFailure notes a failed login (the name as typed, bounded, kept
// only for the 15-minute window and never shown).
func (s *Server) recordFailure(ctx context.Context, name, remote string) error {
	err := s.opts.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO console_login_attempts (at, user_name, remote) VALUES (?, ?, ?)`),
			micros(s.opts.Now()), truncate(name, 64), remote)
		return err
	})
	return store.Classify("recording a failed login", err)
}

// clearFailures forgets the user's failed logins after a successful one.
func (s *Server) clearFailures(ctx context.Context, name string) error {
	err := s.opts.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM console_login_attempts WHERE user_name = ?`), name)
		return err
	})
	return store.Classify("clearing failed logins", err)
}
