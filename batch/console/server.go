package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

//go:embed templates static
var assets embed.FS

// Defaults of Options.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	// DefaultLoginLimitUser is the failed logins of one user name within
	// loginWindow after which its logins are refused until the window
	// passes.
	DefaultLoginLimitUser = 5
	// DefaultLoginLimitRemote is the same per remote address.
	DefaultLoginLimitRemote = 20
	loginWindow             = 15 * time.Minute
	formLimit               = 4 << 20
	cookieName              = "fhirbridge_console"
	loginCookieName         = "fhirbridge_console_login"
)

// Options configure a console Server.
type Options struct {
	// Store holds the users, sessions and audit log (required).
	Store *store.Store
	// Config is given to the pages (nil: config.Defaults).
	Config *config.Config
	// Logger logs without patient data (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// IdleTimeout ends a session unused this long (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, used or not
	// (0: DefaultAbsoluteTimeout).
	AbsoluteTimeout time.Duration
	// Params hash the passwords set on the users page (zero:
	// DefaultParams).
	Params Params
	// LoginLimitUser and LoginLimitRemote bound failed logins per user
	// name and per remote address in 15 minutes (0: the defaults).
	LoginLimitUser, LoginLimitRemote int
	// OIDC, when set, adds the login through an OpenID Connect provider.
	OIDC *OIDCOptions
	// Ops are given to the pages as Deps.Ops.
	Ops Ops
}

// Server is the console: an http.Handler for the paths under /console/.
type Server struct {
	opts      Options
	deps      *Deps
	mux       *http.ServeMux
	pages     []Page
	layout    *template.Template
	own       *template.Template
	dummyHash string
	oidc      *oidcLogin
}

// New builds the console with every page registered so far.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("console: no store")
	}
	if opts.Config == nil {
		c := config.Defaults
		opts.Config = &c
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.AbsoluteTimeout <= 0 {
		opts.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if opts.LoginLimitUser <= 0 {
		opts.LoginLimitUser = DefaultLoginLimitUser
	}
	if opts.LoginLimitRemote <= 0 {
		opts.LoginLimitRemote = DefaultLoginLimitRemote
	}
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	dummy, err := HashPassword("not-a-password-of-anyone", opts.Params)
	if err != nil {
		return nil, err
	}
	layout, err := template.New("layout.html").Funcs(Funcs()).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: parsing the layout: %w", err)
	}
	own, err := ParseTemplates(assets, "templates/pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: parsing its pages: %w", err)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), layout: layout, own: own, dummyHash: dummy,
		deps: &Deps{Store: opts.Store, Config: opts.Config, Logger: opts.Logger, Now: opts.Now, Ops: opts.Ops}}
	if o := opts.OIDC; o != nil {
		if o.Issuer == "" || o.ClientID == "" || o.RedirectURL == "" || len(o.Roles) == 0 {
			return nil, errors.New("console: OIDC needs an issuer, a client id, a redirect URL and roles")
		}
		oo := *o
		if oo.UserClaim == "" {
			oo.UserClaim = "preferred_username"
		}
		if oo.RoleClaim == "" {
			oo.RoleClaim = "groups"
		}
		s.oidc = &oidcLogin{opts: oo}
		s.mux.HandleFunc("GET /console/oidc/login", s.oidcStart)
		s.mux.HandleFunc("GET /console/oidc/callback", s.oidcCallback)
	}
	s.mux.HandleFunc("GET /console/login", s.loginForm)
	s.mux.HandleFunc("POST /console/login", s.login)
	files := http.StripPrefix("/console/", http.FileServerFS(assets))
	s.mux.HandleFunc("GET /console/static/{file}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := fs.Stat(assets, "static/"+r.PathValue("file")); err != nil || r.PathValue("file") == "" { // no folder listing
			Fail(w, r, http.StatusNotFound, "No such console page.")
			return
		}
		files.ServeHTTP(w, r)
	})
	s.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) { Fail(w, r, http.StatusNotFound, "No such console page.") })
	core := &Mux{s: s, page: &Page{Name: "home", Role: RoleViewer}}
	core.HandleFunc("GET /console/{$}", RoleViewer, s.home)
	core.HandleFunc("POST /console/logout", RoleViewer, s.logout)
	s.pages = registeredPages()
	for i := range s.pages {
		s.pages[i].Mount(&Mux{s: s, page: &s.pages[i]}, s.deps)
	}
	return s, nil
}

// Deps returns what the pages were given.
func (s *Server) Deps() *Deps { return s.deps }

// SecurityHeaders are set on every console response.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"Cache-Control":          "no-store",
	"Pragma":                 "no-cache",
	"X-Frame-Options":        "DENY",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
}

// ServeHTTP serves the console's paths with the security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range SecurityHeaders {
		h.Set(k, v)
	}
	s.mux.ServeHTTP(w, r)
}

// ctxKey keys the request's console state.
type ctxKey struct{}

// reqState is what the console knows of a request inside a Mux handler.
type reqState struct {
	s    *Server
	sess *session
	page *Page
	csrf string
}

func stateOf(r *http.Request) *reqState {
	st, _ := r.Context().Value(ctxKey{}).(*reqState)
	return st
}

// UserOf returns the logged-in user of a request; never nil inside a Mux
// handler, nil elsewhere.
func UserOf(r *http.Request) *User {
	if st := stateOf(r); st != nil && st.sess != nil {
		u := st.sess.user
		return &u
	}
	return nil
}

// CSRFToken returns the CSRF token of the request's session ("" outside
// a Mux handler); templates get it as {{csrf}}.
func CSRFToken(r *http.Request) string {
	if st := stateOf(r); st != nil {
		return st.csrf
	}
	return ""
}

// remoteOf is the request's remote host (the address the connection came
// from; forwarded headers are not trusted).
func remoteOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return truncate(r.RemoteAddr, 64)
	}
	return host
}

// secureCookie reports whether cookies get the Secure flag: always, except
// over plain HTTP from a loopback address (a local browser or a reverse
// proxy on the host).
func secureCookie(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ip := net.ParseIP(remoteOf(r))
	return ip == nil || !ip.IsLoopback()
}

// currentSession reads the request's session cookie; nil when absent,
// malformed, unknown or expired.
func (s *Server) currentSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, nil
	}
	tok, err := parseToken(c.Value)
	if err != nil {
		return nil, nil
	}
	return loadSession(r.Context(), s.opts.Store, tok, s.opts.Now(), s.opts.IdleTimeout, s.opts.AbsoluteTimeout)
}

// guard wraps a page's handler with the session, role and CSRF checks.
func (s *Server) guard(p *Page, role Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.currentSession(r)
		if err != nil {
			s.opts.Logger.Error("console: reading the session", "error", err.Error())
			Fail(w, r, http.StatusInternalServerError, "The console could not read its sessions.")
			return
		}
		if sess == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			Fail(w, r, http.StatusUnauthorized, "Your session has ended: log in again.")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqState{s: s, sess: sess, page: p, csrf: csrfFor(sess.token)}))
		if !sess.user.Can(role) {
			Fail(w, r, http.StatusForbidden, "Your role does not allow this.")
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			r.Body = http.MaxBytesReader(w, r.Body, formLimit)
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if !checkCSRF(sess.token, got) {
				Fail(w, r, http.StatusForbidden, "The form's security token is missing or wrong: reload the page and try again.")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// home sends the user to the first page the role may open.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	u := UserOf(r)
	for _, p := range s.pages {
		if p.Title != "" && u.Can(p.Role) {
			http.Redirect(w, r, p.link(), http.StatusSeeOther)
			return
		}
	}
	Render(w, r, s.own, "home", nil)
}
