package vsee

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// LinkPath is the pattern of serve's link endpoint.
const LinkPath = "POST /vsee/links"

// maxLinkRequest bounds a link request's body.
const maxLinkRequest = 4 << 10

// ErrNoPatient: the patient is not known to the bridge (no stored
// Patient), so no SSO body can be built.
var ErrNoPatient = errors.New("the patient is not known to the bridge")

// LinkLookup is what the link endpoint reads from the store.
type LinkLookup struct {
	// User returns the SSO body of Patient/id; ErrNoPatient when unknown.
	User func(ctx context.Context, patientID string) (User, error)
	// OwnsVisit reports whether one of Patient/id's stored Appointments or
	// ServiceRequests carries the visit id as identifier
	// urn:fhirbridge:vsee:visit.
	OwnsVisit func(ctx context.Context, patientID, visitID string) (bool, error)
}

// linkRequest is the body of POST /vsee/links.
type linkRequest struct {
	Patient           string `json:"patient"`
	Purpose           string `json:"purpose"`
	Visit             string `json:"visit"`
	DisableNavigation bool   `json:"disable_navigation"`
}

// fhirID matches a FHIR id.
var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// parseLinkRequest reads and checks a link request; errors name no value.
func parseLinkRequest(data []byte) (linkRequest, string, error) {
	var r linkRequest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, "", errors.New("the body is not a link request")
	}
	id, ok := strings.CutPrefix(r.Patient, "Patient/")
	if !ok || !fhirID.MatchString(id) {
		return r, "", errors.New(`patient must be "Patient/<id>"`)
	}
	switch r.Purpose {
	case "dashboard":
		if r.Visit != "" {
			return r, "", errors.New("visit is not taken with purpose dashboard")
		}
	case "start", "appointment", "join":
		if !fhirID.MatchString(r.Visit) {
			return r, "", errors.New("visit must be a VSee visit id")
		}
	default:
		return r, "", errors.New("purpose must be dashboard, start, appointment or join")
	}
	return r, id, nil
}

// LinkHandler is POST /vsee/links: for a portal holding one of
// links.tokens (bearer, compared in constant time) it mints a fresh SSO
// token for the patient and answers {"url": "{portal_base_url}auth?
// sso_token=…&next=…"} with Cache-Control no-store. A visit that is not
// the patient's is refused with 403. The token is never logged; log
// lines name the patient id and the reason only.
func (c *Connector) LinkHandler(look LinkLookup, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		}
		if !c.linkAuthorized(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			fail(http.StatusUnauthorized, "a bearer token of connectors.vsee.links.tokens is required")
			return
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, maxLinkRequest+1))
		if err != nil || len(data) > maxLinkRequest {
			fail(http.StatusBadRequest, "the body is unreadable or larger than 4 KiB")
			return
		}
		req, pid, err := parseLinkRequest(data)
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		ctx := r.Context()
		if req.Visit != "" {
			ok, err := look.OwnsVisit(ctx, pid, req.Visit)
			if err != nil {
				log.LogAttrs(ctx, slog.LevelError, "vsee link: reading the patient's visits", slog.String("patient", pid), slog.String("reason", err.Error()))
				fail(http.StatusServiceUnavailable, "cannot read the patient's visits")
				return
			}
			if !ok {
				fail(http.StatusForbidden, "the visit is not the patient's")
				return
			}
		}
		u, err := look.User(ctx, pid)
		if errors.Is(err, ErrNoPatient) {
			fail(http.StatusNotFound, "the patient is not known to the bridge")
			return
		}
		if err != nil {
			log.LogAttrs(ctx, slog.LevelError, "vsee link: reading the patient", slog.String("patient", pid), slog.String("reason", err.Error()))
			fail(http.StatusServiceUnavailable, "cannot read the patient")
			return
		}
		link, err := c.Link(ctx, u, req.Purpose, req.Visit, req.DisableNavigation)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "vsee link: minting the link", slog.String("patient", pid), slog.String("reason", err.Error()))
			fail(http.StatusBadGateway, "VSee did not sign the patient on")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"url": link})
	})
}

// linkAuthorized compares a bearer token with every links.tokens entry in
// constant time.
func (c *Connector) linkAuthorized(header string) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	found := 0
	for _, t := range c.s.linkTokens {
		found |= subtle.ConstantTimeCompare([]byte(tok), []byte(t.Reveal()))
	}
	return found == 1
}

// Link mints a fresh SSO token for u and returns
// {portal_base_url}auth?sso_token=…&next=… for purpose (dashboard: /u/clinic;
// start: /visits/start/{visit}; appointment: /members/appointment/{visit};
// join: /visits/join/{code}, the code read with GET /visits/{visit}).
// The caller has checked the visit is u's.
func (c *Connector) Link(ctx context.Context, u User, purpose, visit string, disableNavigation bool) (string, error) {
	_, token, err := c.SSO(ctx, u)
	if err != nil {
		return "", err
	}
	var next connectors.Path
	switch purpose {
	case "dashboard":
		next = connectors.PathOf("/u/clinic")
	case "start":
		next = connectors.PathOf("/visits/start/{id}", visit)
	case "appointment":
		next = connectors.PathOf("/members/appointment/{id}", visit)
	case "join":
		data, err := c.c.do(ctx, request{method: http.MethodGet, tmpl: PathVisit, id: visit, mayRepeat: true, auth: authPatient, token: token})
		if err != nil {
			return "", fmt.Errorf("reading the visit: %w", err)
		}
		var a struct {
			Data struct {
				Code string `json:"code"`
			} `json:"data"`
		}
		if json.Unmarshal(data, &a) != nil || a.Data.Code == "" {
			return "", errors.New("reading the visit: the answer has no data.code")
		}
		next = connectors.PathOf("/visits/join/{code}", a.Data.Code)
	default:
		return "", fmt.Errorf("unknown purpose")
	}
	if err := next.Err(); err != nil {
		return "", fmt.Errorf("building the next path: %w", err)
	}
	au, err := connectors.PathOf("/auth").URL(c.s.portal)
	if err != nil {
		return "", fmt.Errorf("building the auth link: %w", err)
	}
	q := url.Values{"sso_token": {token.Reveal()}, "next": {next.String()}}
	if disableNavigation {
		q.Set("disable_navigation", "1")
	}
	au.RawQuery = q.Encode()
	return au.String(), nil
}
