package vseesim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Header names the simulator reads (the spec names X-ApiToken; the key
// and secret headers are the simulator's choice).
const (
	HeaderAPIKey    = "X-ApiKey"
	HeaderAPISecret = "X-ApiSecret"
	HeaderAPIToken  = "X-ApiToken"
)

// MsgNoAvailability is the 400 message of a scheduled visit the provider
// has no free slot for.
const MsgNoAvailability = "provider has no availability at the requested time"

// apiError writes the simulator's error body.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeFault answers an injected Status fault with the error body.
func writeFault(w http.ResponseWriter, f Fault) {
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	apiError(w, f.Status, msg)
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// randHex returns n random bytes as hex.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// serve routes one request (faults already applied).
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, s.opt.PortalPath); ok {
		s.portal(w, r, rest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "the request body could not be read")
		return
	}
	if len(body) > MaxBody {
		apiError(w, http.StatusRequestEntityTooLarge, "request body is too large")
		return
	}
	p := r.URL.Path
	switch {
	case p == "/users/sso":
		if r.Method == http.MethodPost {
			s.sso(w, r, body)
			return
		}
	case p == "/intakes":
		if r.Method == http.MethodPost {
			s.intake(w, r)
			return
		}
	case p == "/visits":
		if r.Method == http.MethodPost {
			s.visit(w, r, body, KindScheduled)
			return
		}
	case p == "/visits/add_walkin":
		if r.Method == http.MethodPost {
			s.visit(w, r, body, KindWalkin)
			return
		}
	case p == "/add_econsult":
		if r.Method == http.MethodPost {
			s.visit(w, r, body, KindEconsult)
			return
		}
	case strings.HasPrefix(p, "/visits/") && !strings.Contains(p[len("/visits/"):], "/") && len(p) > len("/visits/"):
		if r.Method == http.MethodGet {
			s.getVisit(w, r, p[len("/visits/"):])
			return
		}
	default:
		apiError(w, http.StatusNotFound, "no such route")
		return
	}
	apiError(w, http.StatusMethodNotAllowed, "method not allowed on this route")
}

// validation answers a body error with 400.
func validation(w http.ResponseWriter, err error) {
	var e *errBody
	if errors.As(err, &e) {
		apiError(w, http.StatusBadRequest, e.msg)
		return
	}
	apiError(w, http.StatusBadRequest, "body is invalid")
}

func (s *Sim) sso(w http.ResponseWriter, r *http.Request, raw []byte) {
	if !equal(r.Header.Get(HeaderAPIKey), s.opt.APIKey) || !equal(r.Header.Get(HeaderAPISecret), s.opt.APISecret) {
		apiError(w, http.StatusUnauthorized, "missing or invalid API key or secret")
		return
	}
	b, err := ParseSSOBody(raw)
	if err != nil {
		validation(w, err)
		return
	}
	s.mu.Lock()
	id, ok := s.byExt[b.ExternalID]
	if !ok {
		id = strconv.Itoa(1001 + len(s.userList))
		s.byExt[b.ExternalID] = id
		s.users[id] = &User{ID: id, ExternalID: b.ExternalID}
		s.userList = append(s.userList, id)
	}
	u := s.users[id]
	for _, f := range []struct{ from, to *string }{{&b.FirstName, &u.FirstName}, {&b.LastName, &u.LastName}, {&b.Email, &u.Email}, {&b.DOB, &u.DOB}} {
		if *f.from != "" {
			*f.to = *f.from
		}
	}
	u.Tokens++
	tok := randHex(16)
	exp := s.opt.Now().Add(s.opt.TokenTTL)
	s.tokens[tok] = &token{member: id, expires: exp}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"id": id, "token": map[string]any{"token": tok, "expires": exp.Unix()},
	}})
}

// caller is who an X-ApiToken names: a member (SSO token) or the admin.
type caller struct {
	member string
	admin  bool
}

// authToken resolves X-ApiToken; ok is false for a missing, unknown or
// expired token. Call with s.mu held.
func (s *Sim) authToken(r *http.Request) (caller, bool) {
	h := r.Header.Get(HeaderAPIToken)
	if equal(h, s.opt.AdminToken) {
		return caller{admin: true}, true
	}
	t, ok := s.tokens[h]
	if !ok || !s.opt.Now().Before(t.expires) {
		return caller{}, false
	}
	return caller{member: t.member}, true
}

const msgToken = "missing, unknown or expired X-ApiToken"

func (s *Sim) intake(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c, ok := s.authToken(r)
	if !ok || c.admin {
		s.mu.Unlock()
		apiError(w, http.StatusUnauthorized, msgToken+" (an intake needs the patient's SSO token)")
		return
	}
	sum := randHex(16)
	id := fmt.Sprintf("%s-%s-%s-%s-%s", sum[:8], sum[8:12], sum[12:16], sum[16:20], sum[20:32])
	s.intakes[id] = &Intake{ID: id, MemberID: c.member}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"id": id}})
}

func (s *Sim) visit(w http.ResponseWriter, r *http.Request, raw []byte, kind string) {
	b, err := ParseVisitBody(raw, kind == KindScheduled)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.authToken(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, msgToken)
		return
	}
	if err != nil {
		validation(w, err)
		return
	}
	in, ok := s.intakes[b.IntakeID]
	if !ok || (!c.admin && in.MemberID != c.member) {
		apiError(w, http.StatusNotFound, "intake not found")
		return
	}
	v := &Visit{
		ID: strconv.Itoa(67258 + len(s.visitIDs)), Kind: kind, IntakeID: in.ID, MemberID: in.MemberID,
		Code: randHex(16), ProviderID: b.ProviderID, RoomCode: b.RoomCode, Forced: c.admin,
	}
	data := map[string]any{"id": v.ID}
	if kind == KindScheduled {
		v.Start = b.Start
		if !c.admin && !s.book(b.ProviderID, b.Start) {
			apiError(w, http.StatusBadRequest, MsgNoAvailability)
			return
		}
		if !s.opt.NoOneTimeLinks {
			v.OneTimeLinkToken = randHex(5)
			data["one_time_link_token"] = v.OneTimeLinkToken
		}
	}
	s.visits[v.ID] = v
	s.visitIDs = append(s.visitIDs, v.ID)
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// book takes the provider's free slot holding start; with no availability
// configured every provider is available. Call with s.mu held.
func (s *Sim) book(provider string, start time.Time) bool {
	if s.opt.Availability == nil {
		return true
	}
	slots := s.opt.Availability[provider]
	if provider == "" || len(slots) == 0 {
		return false
	}
	taken := s.booked[provider]
	if taken == nil {
		taken = make([]bool, len(slots))
		s.booked[provider] = taken
	}
	at := start.Unix()
	for i, sl := range slots {
		if !taken[i] && at >= sl.Start.Unix() && at < sl.End.Unix() {
			taken[i] = true
			return true
		}
	}
	return false
}

func (s *Sim) getVisit(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.authToken(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, msgToken)
		return
	}
	v, ok := s.visits[id]
	if !ok || (!c.admin && v.MemberID != c.member) {
		apiError(w, http.StatusNotFound, "visit not found")
		return
	}
	data := map[string]any{
		"id": v.ID, "code": v.Code, "type": v.Kind, "intake_id": v.IntakeID, "member_id": v.MemberID,
	}
	if v.ProviderID != "" {
		data["provider_id"] = v.ProviderID
	}
	if v.RoomCode != "" {
		data["room_code"] = v.RoomCode
	}
	if !v.Start.IsZero() {
		data["start"] = v.Start.Unix()
	}
	if v.OneTimeLinkToken != "" {
		data["one_time_link_token"] = v.OneTimeLinkToken
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// portal serves the patient portal: auth, and a page for anything else.
func (s *Sim) portal(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet {
		apiError(w, http.StatusMethodNotAllowed, "method not allowed on this route")
		return
	}
	if rest != "auth" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "VSee Clinic simulator portal: %s\n", "/"+rest)
		return
	}
	q := r.URL.Query()
	next := q.Get("next")
	if !validNext(next) {
		apiError(w, http.StatusBadRequest, "next must be a path on the portal")
		return
	}
	s.mu.Lock()
	t, ok := s.tokens[q.Get("sso_token")]
	switch {
	case !ok || !s.opt.Now().Before(t.expires):
		s.mu.Unlock()
		apiError(w, http.StatusUnauthorized, "unknown or expired sso_token")
		return
	case t.used:
		s.mu.Unlock()
		apiError(w, http.StatusForbidden, "sso_token already used")
		return
	}
	t.used = true
	s.logins = append(s.logins, Login{MemberID: t.member, Next: next, Time: s.opt.Now()})
	s.mu.Unlock()
	http.Redirect(w, r, s.opt.PortalPath+strings.TrimPrefix(next, "/"), http.StatusFound)
}

// validNext reports whether next is a path on the portal (no scheme, no
// host, no climbing out).
func validNext(next string) bool {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}
