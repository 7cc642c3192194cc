package ttsim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// The login server's defaults.
const (
	DefaultDBName        = "tt_sandbox"
	DefaultLoginUser     = "bridge"
	DefaultLoginPassword = "sandbox-password"
)

// Limits of the login form.
const (
	// MaxLoginBody bounds the form body in bytes.
	MaxLoginBody = 16 << 10
	// MaxLoginField bounds one field's value in characters.
	MaxLoginField = 255
	// MaxSessions bounds the sessions kept; the oldest goes first.
	MaxSessions = 10000
)

// loginFields are the fields of the D.1 patient login, dbName first.
var loginFields = []string{"dbName", "fname", "lname", "phone", "hometel", "email", "idnumber", "birthday", "note"}

// patientFields are the login's fields that carry patient data, and the
// operator form's credentials: none may be in a URL.
var patientFields = map[string]bool{
	"fname": true, "lname": true, "phone": true, "hometel": true, "email": true,
	"idnumber": true, "birthday": true, "note": true, "username": true, "password": true,
}

// LoginOptions configure a LoginServer. Zero fields take the defaults.
type LoginOptions struct {
	// DBName is the tuOtempO instance's dbName (default DefaultDBName).
	DBName string
	// User and Password are the HTTP Basic credentials the bridge must
	// send (defaults DefaultLoginUser, DefaultLoginPassword).
	User, Password string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Login is one session the server issued: the form fields that arrived
// (for tests to check; never printed) and when.
type Login struct {
	SessionID string
	Fields    map[string]string
	At        time.Time
}

// LoginServer is tuOtempO's side of the D.1 patient single sign-on, an
// http.Handler safe for concurrent use:
//
//	POST /login   (application/x-www-form-urlencoded body: dbName, fname,
//	              lname, phone, hometel, email, idnumber, birthday[, note];
//	              HTTP Basic credentials)
//	              → 200 text/plain "sessionId=<random>"
//	GET  /mop_customer.php?dbName=…&sessionid=…
//	              → 200 "logged in" for a session it issued, 403 otherwise
//
// It refuses what the guide's privacy rule forbids: a patient field (or
// the operator form's username/password) in a URL query is 400 on either
// path, as is a GET login, a body that is not a form, an unknown or
// repeated field, a field over MaxLoginField characters, a birthday not
// dd/mm/yyyy and a wrong dbName; wrong credentials are 401. Choices where
// the guide is silent: the path /login, Basic authentication, the 400s.
type LoginServer struct {
	listener
	opt      LoginOptions
	mu       sync.Mutex
	sessions map[string]Login
	order    []string
}

// NewLoginServer returns a login server with no sessions; serve it with
// Start or as a handler.
func NewLoginServer(opt LoginOptions) *LoginServer {
	if opt.DBName == "" {
		opt.DBName = DefaultDBName
	}
	if opt.User == "" {
		opt.User = DefaultLoginUser
	}
	if opt.Password == "" {
		opt.Password = DefaultLoginPassword
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &LoginServer{opt: opt, sessions: map[string]Login{}}
}

// Start serves on addr ("127.0.0.1:0" for any free port) and returns the
// base URL; the login URL is LoginURL.
func (l *LoginServer) Start(addr string) (string, error) { return l.start(addr, l) }

// LoginURL is the started server's login endpoint.
func (l *LoginServer) LoginURL() string { return l.URL() + "/login" }

// DBName is the dbName the server accepts.
func (l *LoginServer) DBName() string { return l.opt.DBName }

// Session returns the session id issued, and whether it exists.
func (l *LoginServer) Session(id string) (Login, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sessions[id]
	return s, ok
}

// Sessions returns the sessions kept, oldest first.
func (l *LoginServer) Sessions() []Login {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Login, 0, len(l.order))
	for _, id := range l.order {
		out = append(out, l.sessions[id])
	}
	return out
}

// ServeHTTP implements http.Handler.
func (l *LoginServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f := queryPatientField(r.URL.RawQuery); f != "" {
		http.Error(w, fmt.Sprintf("%s in the URL: patient data never goes in a URL", f), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/login":
		l.login(w, r)
	case "/mop_customer.php":
		l.customer(w, r)
	default:
		http.NotFound(w, r)
	}
}

// queryPatientField names the first patient field in the raw query, "".
func queryPatientField(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "an unreadable query"
	}
	for k := range q {
		if patientFields[k] {
			return k
		}
	}
	return ""
}

func (l *LoginServer) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "the login is a POST with a form body", http.StatusBadRequest)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || !same(user, l.opt.User) || !same(pass, l.opt.Password) {
		w.Header().Set("WWW-Authenticate", `Basic realm="tuOtempO login"`)
		http.Error(w, "wrong credentials", http.StatusUnauthorized)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		http.Error(w, "the body is application/x-www-form-urlencoded", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxLoginBody))
	if err != nil {
		http.Error(w, "the form body is unreadable or too large", http.StatusBadRequest)
		return
	}
	fields, err := ParseLoginForm(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !same(fields["dbName"], l.opt.DBName) {
		http.Error(w, "unknown dbName", http.StatusBadRequest)
		return
	}
	id := newSessionID()
	l.mu.Lock()
	l.sessions[id] = Login{SessionID: id, Fields: fields, At: l.opt.Now()}
	l.order = append(l.order, id)
	if len(l.order) > MaxSessions {
		delete(l.sessions, l.order[0])
		l.order = l.order[1:]
	}
	l.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "sessionId=%s", id)
}

func (l *LoginServer) customer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	_, known := l.Session(q.Get("sessionid"))
	if !known || !same(q.Get("dbName"), l.opt.DBName) {
		http.Error(w, "no such session", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "logged in")
}

// newSessionID is 16 random bytes in hex.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ParseLoginForm reads a D.1 login form body: URL-encoded fields of
// loginFields only, each at most once and at most MaxLoginField
// characters, dbName required, birthday (when set) dd/mm/yyyy. Errors
// name the field, never its value.
func ParseLoginForm(body []byte) (map[string]string, error) {
	if len(body) > MaxLoginBody {
		return nil, errors.New("the form body is too large")
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("the form body is not URL-encoded")
	}
	out := make(map[string]string, len(q))
	for k, vs := range q {
		if !slices.Contains(loginFields, k) {
			return nil, errors.New("an unknown field in the form")
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("%s is repeated", k)
		}
		if len([]rune(vs[0])) > MaxLoginField {
			return nil, fmt.Errorf("%s is longer than %d characters", k, MaxLoginField)
		}
		out[k] = vs[0]
	}
	if out["dbName"] == "" {
		return nil, errors.New("dbName is missing")
	}
	if b := out["birthday"]; b != "" {
		if _, err := time.Parse(dateLayout, b); err != nil || len(b) != len(dateLayout) {
			return nil, errors.New("birthday is not dd/mm/yyyy")
		}
	}
	return out, nil
}
