// Package vsee delivers Patients, Appointments and ServiceRequests to VSee
// Clinic (vsee-clinic-patient-integration.txt) and mints the patient
// portal's single-sign-on links.
//
// Flows (shipped mappings vsee/…; each record carries the patient's SSO
// body, from which the connector mints a fresh SSO token per delivery —
// POST /users/sso is idempotent by code, the FHIR Patient id — and never
// stores or logs it):
//
//	vsee/user      Patient         POST /users/sso                       → member id (crosswalk)
//	vsee/visit     Appointment     POST /intakes, POST /visits,          → visit id (identifier urn:fhirbridge:vsee:visit),
//	                               GET /visits/{id}                        invite link {portal_base_url}visits/join/{code}
//	vsee/walkin    Appointment     POST /intakes, POST /visits/add_walkin, GET /visits/{id}
//	               (appointmentType WALKIN)
//	vsee/econsult  ServiceRequest  POST /intakes, POST /add_econsult      → visit id
//
// Visits, walk-ins and e-consults are delivered under the Patient's member
// id (Delivery.Parent): the Patient reaches VSee first.
package vsee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// The flows (mapping names) the connector serves.
const (
	FlowUser     = "vsee/user"
	FlowVisit    = "vsee/visit"
	FlowWalkin   = "vsee/walkin"
	FlowEconsult = "vsee/econsult"
)

// IDName is the identifier a visit's id is written back as:
// urn:fhirbridge:vsee:visit.
const IDName = "visit"

// AttrInviteLink is the attribute (extension urn:fhirbridge:vsee:inviteLink)
// holding a visit's invite link.
const AttrInviteLink = "inviteLink"

// Errors of a delivery the connector refuses itself (errors.Is; each is
// Permanent).
var (
	// ErrUnsupported: a flow the connector does not serve.
	ErrUnsupported = errors.New("flow not supported by vsee")
	// ErrRecord: the mapped record lacks what the flow needs.
	ErrRecord = errors.New("the mapped record is not a vsee record")
	// ErrNoID: VSee answered 2xx without the id the call creates.
	ErrNoID = errors.New("VSee answered without the id of what it created")
	// ErrNoParent: a visit delivered without the Patient's member id.
	ErrNoParent = errors.New("the Patient has no VSee member id yet")
	// ErrOtherMember: the SSO call answered a member id other than the
	// one the crosswalk keeps for the Patient.
	ErrOtherMember = errors.New("VSee answered another member id for the Patient than the crosswalk keeps")
	// ErrNoCancel: the spec documents no call that cancels a visit; an
	// operator cancels it in VSee Clinic.
	ErrNoCancel = errors.New("the VSee API as documented cannot cancel a visit: cancel it in VSee Clinic")
)

// maxRecord bounds a mapped record.
const maxRecord = 64 << 10

// User is the SSO body of a patient (POST /users/sso): Code is the
// external id, the FHIR Patient id.
type User struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	DOB       string `json:"dob"`
	Code      string `json:"code"`
}

// record is a mapped visit record: the patient's SSO body and the visit's
// facts.
type record struct {
	User       *User  `json:"user"`
	Start      string `json:"start"`
	ProviderID string `json:"provider_id"`
	Status     string `json:"status"`
}

// parseRecord reads a mapped record of flow. Errors name no value.
func parseRecord(flow string, data []byte) (record, error) {
	if len(data) > maxRecord {
		return record{}, fmt.Errorf("%w: larger than %d bytes", ErrRecord, maxRecord)
	}
	var r record
	if flow == FlowUser {
		var u User
		if err := json.Unmarshal(data, &u); err != nil {
			return record{}, fmt.Errorf("%w: not a JSON object", ErrRecord)
		}
		r.User = &u
	} else if err := json.Unmarshal(data, &r); err != nil {
		return record{}, fmt.Errorf("%w: not a JSON object", ErrRecord)
	}
	switch {
	case r.User == nil || r.User.Code == "":
		return record{}, fmt.Errorf("%w: no user.code (the Patient id)", ErrRecord)
	case r.User.FirstName == "" || r.User.LastName == "":
		return record{}, fmt.Errorf("%w: no first_name or last_name", ErrRecord)
	case flow == FlowVisit && r.Start == "":
		return record{}, fmt.Errorf("%w: no start", ErrRecord)
	}
	return r, nil
}

// Connector is the VSee Clinic connector. It is safe for concurrent use.
type Connector struct {
	s   settings
	c   client
	log atomic.Pointer[slog.Logger]
}

var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Checker   = (*Connector)(nil)
)

// New validates cfg and returns a connector; errors name the config key.
func New(cfg Config) (*Connector, error) {
	s, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	c := &Connector{s: s, c: client{base: s.base, key: s.key, secret: s.secret,
		http: &http.Client{Timeout: s.timeout, Transport: connectors.Transport(nil),
			// a redirected POST could be replayed elsewhere: report it instead
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}}
	c.log.Store(slog.New(slog.DiscardHandler))
	return c, nil
}

// SetCallLogger sets where soft failures (an invite link not fetched)
// are logged, reason and resource only; nil discards.
func (c *Connector) SetCallLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	c.log.Store(l)
}

// BaseURL is the API's URL (it holds no credential).
func (c *Connector) BaseURL() string { return c.s.base.Redacted() }

// Format prints the connector as its URL only, never a credential.
func (c *Connector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "vsee.Connector{%s}", c.s.base.Redacted())
}

// Deliver performs d (see the package documentation). Errors are
// classified and carry no patient data.
//
// Idempotency: the API has no lookup of a visit by external id, so a
// visit, walk-in or e-consult create whose request was written but whose
// answer was lost is not sent again: it fails Permanent with ErrInDoubt
// and waits in the dead-letter queue for an operator (check VSee Clinic,
// then retry or discard). The SSO call and the intake repeat harmlessly
// (SSO is idempotent by code; an intake without a visit is unused). Once
// a visit id is known it is returned even when fetching its invite link
// fails, so a retry never creates a second visit.
func (c *Connector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	res, err := c.deliver(ctx, d)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("delivering %s %s of %s/%s: %w", d.Flow, d.Op, d.ResourceType, d.ResourceID, err)
	}
	return res, nil
}

func (c *Connector) deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	switch d.Flow {
	case FlowUser, FlowVisit, FlowWalkin, FlowEconsult:
	default:
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	if d.Body == nil {
		return connectors.Result{}, connectors.Permanently(fmt.Errorf("%w: empty", ErrRecord))
	}
	rec, err := parseRecord(d.Flow, d.Body.JSON())
	if err != nil {
		return connectors.Result{}, connectors.Permanently(err)
	}
	if d.Flow == FlowUser {
		member, _, err := c.SSO(ctx, *rec.User)
		if err != nil {
			return connectors.Result{}, err
		}
		return connectors.Result{VendorID: member}, nil
	}
	if d.Op == connectors.Cancel || rec.Status == "cancelled" || rec.Status == "entered-in-error" || rec.Status == "revoked" {
		if d.VendorID == "" {
			return connectors.Result{}, nil // never created: nothing to cancel
		}
		return connectors.Result{}, connectors.Permanently(ErrNoCancel)
	}
	if d.Parent == "" && d.VendorID == "" {
		return connectors.Result{}, connectors.Permanently(ErrNoParent)
	}
	member, token, err := c.SSO(ctx, *rec.User)
	if err != nil {
		return connectors.Result{}, err
	}
	if d.VendorID != "" {
		// The API has no visit update: refresh the invite link only.
		return c.visitResult(ctx, d, d.VendorID, token), nil
	}
	if member != d.Parent {
		return connectors.Result{}, connectors.Permanently(ErrOtherMember)
	}
	data, err := c.c.do(ctx, request{method: http.MethodPost, tmpl: PathIntakes, body: []byte("{}"),
		auth: authPatient, token: token, mayRepeat: true})
	if err != nil {
		return connectors.Result{}, fmt.Errorf("creating the intake: %w", err)
	}
	intake, err := dataID(data)
	if err != nil {
		return connectors.Result{}, connectors.Transiently(fmt.Errorf("creating the intake: %w", err), 0)
	}
	var req request
	switch d.Flow {
	case FlowVisit:
		body, _ := json.Marshal(map[string]string{"intake_id": intake, "start": rec.Start, "provider_id": rec.ProviderID})
		req = request{method: http.MethodPost, tmpl: PathVisits, body: body, auth: authPatient, token: token}
		if c.s.admin != "" {
			req.auth, req.token = authAdmin, c.s.admin
		}
	case FlowWalkin:
		body, _ := json.Marshal(map[string]string{"intake_id": intake})
		req = request{method: http.MethodPost, tmpl: PathWalkin, body: body, auth: authPatient, token: token}
	default:
		body, _ := json.Marshal(map[string]string{"intake_id": intake})
		req = request{method: http.MethodPost, tmpl: PathEconsult, body: body, auth: authPatient, token: token}
	}
	data, err = c.c.do(ctx, req)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("creating the visit: %w", err)
	}
	visit, err := dataID(data)
	if err != nil {
		// created, but nothing to keep: a retry would create another
		return connectors.Result{}, connectors.Permanently(err)
	}
	return c.visitResult(ctx, d, visit, token), nil
}

// visitResult is the result of a delivered visit: its id and, but for an
// e-consult, its invite link when GET /visits/{id} gives the code (a
// failure is logged, not returned: the visit exists and must be kept).
func (c *Connector) visitResult(ctx context.Context, d connectors.Delivery, visit string, token connectors.Secret) connectors.Result {
	res := connectors.Result{VendorID: visit, IDName: IDName}
	if d.Flow == FlowEconsult {
		return res
	}
	link, err := c.inviteLink(ctx, visit, token)
	if err != nil {
		c.log.Load().LogAttrs(ctx, slog.LevelWarn, "vsee: no invite link for the visit",
			slog.String("resource", d.ResourceType+"/"+d.ResourceID), // not a URL path
			slog.String("reason", err.Error()))
		return res
	}
	res.Attributes = map[string]string{AttrInviteLink: link}
	return res
}

// inviteLink GETs a visit (asked with the patient's SSO token) and
// returns {portal_base_url}visits/join/{code}.
func (c *Connector) inviteLink(ctx context.Context, visit string, token connectors.Secret) (string, error) {
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
	return c.portalLink("/visits/join/{code}", a.Data.Code)
}

// SSO mints a fresh SSO token for u (POST /users/sso, idempotent by
// u.Code) and returns the member id and the token. The token is never
// stored or logged; errors carry neither.
func (c *Connector) SSO(ctx context.Context, u User) (member string, token connectors.Secret, err error) {
	body, _ := json.Marshal(u)
	data, err := c.c.do(ctx, request{method: http.MethodPost, tmpl: PathSSO, body: body, auth: authService, mayRepeat: true})
	if err != nil {
		return "", "", fmt.Errorf("signing the patient on: %w", err)
	}
	var a struct {
		Data struct {
			ID    json.RawMessage `json:"id"`
			Token struct {
				Token string `json:"token"`
			} `json:"token"`
		} `json:"data"`
	}
	if json.Unmarshal(data, &a) != nil {
		return "", "", connectors.Transiently(errors.New("signing the patient on: the answer is not JSON"), 0)
	}
	member = rawID(a.Data.ID)
	if member == "" || a.Data.Token.Token == "" {
		return "", "", connectors.Transiently(errors.New("signing the patient on: the answer has no data.id or data.token.token"), 0)
	}
	return member, connectors.Secret(a.Data.Token.Token), nil
}

// dataID reads data.id (a string or a number) of an answer.
func dataID(data []byte) (string, error) {
	var a struct {
		Data struct {
			ID json.RawMessage `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(data, &a) != nil {
		return "", fmt.Errorf("%w: the answer is not JSON", ErrNoID)
	}
	if id := rawID(a.Data.ID); id != "" {
		return id, nil
	}
	return "", fmt.Errorf("%w: no data.id", ErrNoID)
}

// rawID reads an id given as a JSON string or number; "" otherwise.
func rawID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// portalLink is {portal_base_url} with tmpl filled with vals appended.
func (c *Connector) portalLink(tmpl string, vals ...string) (string, error) {
	u, err := connectors.PathOf(tmpl, vals...).URL(c.s.portal)
	if err != nil {
		return "", fmt.Errorf("building a portal link: %w", err)
	}
	return u.String(), nil
}
