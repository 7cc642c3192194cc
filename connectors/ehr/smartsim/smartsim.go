// Package smartsim is a test EHR for the SMART write-back, in the manner
// of net/http/httptest: a FHIR R4 server on a loopback port that
// publishes .well-known/smart-configuration, issues access tokens at its
// token endpoint to a client that proves itself with a private_key_jwt
// assertion (RS384 or ES384, verified with the client's public key),
// expires them on demand, answers 401 to an expired or unknown token, and
// keeps versioned resources (read, update with If-Match, 412 on a stale
// version). A hook runs after each read so a test can change the resource
// between the bridge's read and its write, as a clinician editing it in
// the EHR would.
package smartsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
)

// Base is the FHIR base path of the server (Server.URL + Base).
const Base = "/fhir"

// Request is one entry of the server's log.
type Request struct {
	Method, Path string
	// Status is the status answered.
	Status int
	// IfMatch is the If-Match header of a PUT.
	IfMatch string
}

// Server is the test EHR. Make it with New; Close it when done.
type Server struct {
	*httptest.Server
	// ClientID is the client id the token endpoint accepts.
	ClientID string
	alg      string
	pub      crypto.PublicKey
	life     time.Duration

	mu       sync.Mutex
	now      func() time.Time
	tokens   map[string]time.Time // token → expiry
	jtis     map[string]bool
	res      map[string]map[string]any // "Type/id" → resource
	gone     map[string]bool           // "Type/id" deleted: reads answer 410
	issued   int
	log      []Request
	refuse   bool
	afterGet func(s *Server, typ, id string)
}

// NewKey makes a key pair for alg: the private key as PKCS#8 PEM (for a
// key file) and the public key.
func NewKey(alg string) (pemText []byte, pub crypto.PublicKey, err error) {
	var key crypto.Signer
	switch alg {
	case smart.RS384:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case smart.ES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		return nil, nil, fmt.Errorf("smartsim: alg %q", alg)
	}
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), key.Public(), nil
}

// New starts a test EHR that accepts clientID's assertions signed with
// alg by the private key of pub, and issues tokens living tokenLife.
func New(clientID, alg string, pub crypto.PublicKey, tokenLife time.Duration) *Server {
	s := &Server{ClientID: clientID, alg: alg, pub: pub, life: tokenLife, now: time.Now,
		tokens: map[string]time.Time{}, jtis: map[string]bool{}, res: map[string]map[string]any{}, gone: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// FHIRBase is the server's FHIR base URL.
func (s *Server) FHIRBase() string { return s.URL + Base }

// TokenURL is the server's token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/auth/token" }

// SetClock replaces the server's clock (time.Now), which judges token
// expiry and assertion exp.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// ExpireTokens makes every token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// RefuseClient makes the token endpoint answer 401 invalid_client (true)
// or issue tokens again (false).
func (s *Server) RefuseClient(refuse bool) {
	s.mu.Lock()
	s.refuse = refuse
	s.mu.Unlock()
}

// Issued reports how many tokens were issued.
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// AfterGet sets a hook run after each successful read, outside the lock:
// it may call Edit.
func (s *Server) AfterGet(f func(s *Server, typ, id string)) {
	s.mu.Lock()
	s.afterGet = f
	s.mu.Unlock()
}

// Seed stores res (a JSON object with resourceType and id) as version 1.
func (s *Server) Seed(res string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(res), &m); err != nil {
		return err
	}
	typ, _ := m["resourceType"].(string)
	id, _ := m["id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(typ, id, m)
	return nil
}

// Edit changes a stored resource as the EHR's own users would, making a
// new version.
func (s *Server) Edit(typ, id string, change func(res map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res[typ+"/"+id]
	if r == nil {
		return
	}
	change(r)
	s.store(typ, id, r)
}

// Gone deletes typ/id as the EHR's users would: reads answer 410.
func (s *Server) Gone(typ, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.res, typ+"/"+id)
	s.gone[typ+"/"+id] = true
}

// Resource returns a copy of the stored resource, or nil.
func (s *Server) Resource(typ, id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res[typ+"/"+id]
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// Log returns the requests so far.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// store saves r as the next version of typ/id (lock held).
func (s *Server) store(typ, id string, r map[string]any) {
	v := 1
	if old := s.res[typ+"/"+id]; old != nil {
		v = version(old) + 1
	}
	meta, _ := r["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = strconv.Itoa(v)
	r["meta"] = meta
	s.res[typ+"/"+id] = r
}

func version(r map[string]any) int {
	meta, _ := r["meta"].(map[string]any)
	vs, _ := meta["versionId"].(string)
	v, _ := strconv.Atoi(vs)
	return v
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &Request{Method: r.Method, Path: r.URL.Path, IfMatch: r.Header.Get("If-Match")}
	sw := &statusWriter{ResponseWriter: w, status: 200}
	defer func() {
		rec.Status = sw.status
		s.mu.Lock()
		s.log = append(s.log, *rec)
		s.mu.Unlock()
	}()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == Base+"/.well-known/smart-configuration":
		sw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(sw).Encode(map[string]any{
			"token_endpoint":                                   s.TokenURL(),
			"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
			"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
			"grant_types_supported":                            []string{"client_credentials"},
			"capabilities":                                     []string{"client-confidential-asymmetric"},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/auth/token":
		s.token(sw, r)
	case strings.HasPrefix(r.URL.Path, Base+"/") || r.URL.Path == Base:
		if !s.authorized(r) {
			sw.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			outcome(sw, http.StatusUnauthorized, "invalid or expired token")
			return
		}
		s.fhir(sw, r)
	default:
		http.NotFound(sw, r)
	}
}

// token answers the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":%q,"error_description":"assertion %s refused"}`, code, r.PostForm.Get("client_assertion"))
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_assertion_type") != smart.AssertionType || r.PostForm.Get("scope") == "" {
		fail("invalid_request")
		return
	}
	claims, err := smart.Verify(r.PostForm.Get("client_assertion"), s.alg, s.pub)
	if err != nil {
		fail("invalid_client")
		return
	}
	now := s.clock()
	exp, _ := claims["exp"].(float64)
	jti, _ := claims["jti"].(string)
	s.mu.Lock()
	refuse, replay := s.refuse, s.jtis[jti]
	s.jtis[jti] = true
	s.mu.Unlock()
	if refuse || replay || jti == "" || claims["iss"] != s.ClientID || claims["sub"] != s.ClientID ||
		claims["aud"] != s.TokenURL() || exp < float64(now.Unix()) || exp > float64(now.Add(5*time.Minute).Unix()) {
		fail("invalid_client")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "sim-" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = now.Add(s.life)
	s.issued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer",
		"expires_in": max(1, int(s.life.Seconds())), "scope": r.PostForm.Get("scope")})
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// authorized reports a bearer token issued here and not expired.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[tok]
	return known && s.now().Before(exp)
}

// fhir answers the FHIR API: metadata, read, update, transaction.
func (s *Server) fhir(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Base), "/")
	if rest == "metadata" && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"]}`)
		return
	}
	if rest == "" && r.Method == http.MethodPost {
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"Bundle","type":"transaction-response","entry":[]}`)
		return
	}
	typ, id, ok := strings.Cut(rest, "/")
	if !ok || typ == "" || id == "" || strings.Contains(id, "/") {
		outcome(w, http.StatusNotFound, "unknown path")
		return
	}
	key := typ + "/" + id
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		res := s.res[key]
		var b []byte
		if res != nil {
			b, _ = json.Marshal(res)
		}
		hook, gone := s.afterGet, s.gone[key]
		s.mu.Unlock()
		if gone {
			outcome(w, http.StatusGone, "deleted")
			return
		}
		if res == nil {
			outcome(w, http.StatusNotFound, "no such resource")
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, version(res)))
		w.Write(b)
		if hook != nil {
			hook(s, typ, id)
		}
	case http.MethodPut:
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m["resourceType"] != typ || m["id"] != id {
			outcome(w, http.StatusBadRequest, "resource type or id do not match the URL")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		old := s.res[key]
		if im := r.Header.Get("If-Match"); im != "" {
			if old == nil || im != fmt.Sprintf(`W/"%d"`, version(old)) {
				outcome(w, http.StatusPreconditionFailed, "version conflict")
				return
			}
		}
		s.store(typ, id, m)
		w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, version(m)))
		w.Header().Set("Content-Type", "application/fhir+json")
		if old == nil {
			w.WriteHeader(http.StatusCreated)
		}
		b, _ := json.Marshal(m)
		w.Write(b)
	default:
		outcome(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func outcome(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":%q}]}`, msg)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
