// Package bandyer delivers virtual Appointments to the Bandyer
// Teleconsultation Service Backend (bandyer-teleconsultation-backend.txt)
// as teleconsultations: rooms, their participants, and each participant's
// access link back on the Appointment.
//
// One flow, the shipped mapping bandyer/teleconsultation (an Appointment):
//
//	create                         POST   /teleconsultation                     → roomId (crosswalk, identifier urn:fhirbridge:bandyer:roomId)
//	dates or participants changed  PATCH  /teleconsultation/{roomId}            only the changed members
//	a participant became known     POST   /teleconsultation/{roomId}/participants/data
//	cancelled, entered-in-error,   DELETE /teleconsultation/{roomId}            404 counts as done
//	noshow
//	room complete (all known)      GET    /teleconsultation/{roomId}            asked as each participant (Config.UserHeader)
//
// The mapping gives the Appointment's facts (record); the connector applies
// the site's tables (groups, plus groups, default language, identifier
// system, auth0 mode) to build the body the spec describes. A change is
// found by comparing with the record last delivered, which the module reads
// from the message log (SetPrevious); without it (another process, a pruned
// log) an update PATCHes every mutable member: start_date, end_date and
// participants.
package bandyer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// FlowTeleconsultation is the flow (mapping name) the connector serves.
const FlowTeleconsultation = "bandyer/teleconsultation"

// Errors of a delivery the connector refuses itself (errors.Is; each is
// Permanent).
var (
	// ErrUnsupported: a flow the connector does not serve.
	ErrUnsupported = errors.New("flow not supported by bandyer")
	// ErrImmutable: the change falls inside the immutable period.
	ErrImmutable = errors.New("refused: the change falls inside the backend's immutable period (all participants known and the start less than immutable_period away); the backend would refuse it, so it was not sent")
	// ErrRecord: the mapped record is not what bandyer/teleconsultation gives.
	ErrRecord = errors.New("the mapped record is not a bandyer/teleconsultation record")
	// ErrNoRoomID: the backend answered 201 without a roomId.
	ErrNoRoomID = errors.New("the backend created the teleconsultation but answered no roomId")
)

// terminal are the Appointment statuses that delete the teleconsultation.
var terminal = map[string]bool{"cancelled": true, "entered-in-error": true, "noshow": true}

// PreviousFunc returns the record last delivered for a resource (the
// mapped body's JSON), nil when there is none.
type PreviousFunc func(ctx context.Context, resourceType, resourceID string) ([]byte, error)

// Connector is the Bandyer connector. It is safe for concurrent use.
type Connector struct {
	s        settings
	c        client
	now      func() time.Time
	previous atomic.Pointer[PreviousFunc]
	log      atomic.Pointer[slog.Logger]
	refused  atomic.Int64
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
	c := &Connector{s: s, now: time.Now, c: client{base: s.base, key: s.apiKey, header: s.userHeader,
		http: &http.Client{Timeout: s.timeout, Transport: connectors.Transport(nil),
			// a redirected POST could be replayed elsewhere: report it instead
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}}
	c.log.Store(slog.New(slog.DiscardHandler))
	return c, nil
}

// SetPrevious sets where the last delivered record of a resource is read
// (nil: nowhere, every update PATCHes the full mutable members).
func (c *Connector) SetPrevious(fn PreviousFunc) {
	if fn == nil {
		c.previous.Store(nil)
		return
	}
	c.previous.Store(&fn)
}

// SetCallLogger sets where link failures are logged (reason and resource
// only); nil discards.
func (c *Connector) SetCallLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	c.log.Store(l)
}

// ImmutableRefusals counts the changes refused for the immutable period
// since the connector was made.
func (c *Connector) ImmutableRefusals() int64 { return c.refused.Load() }

// BaseURL is the backend's URL (it holds no credential).
func (c *Connector) BaseURL() string { return c.s.base.Redacted() }

// Format prints the connector as its URL only, never a credential.
func (c *Connector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "bandyer.Connector{%s}", c.s.base.Redacted())
}

// Deliver performs d (see the package documentation). Errors are
// classified and carry no patient data.
//
// Idempotency: the spec has no lookup by external id, so a create or a
// participant push whose request was written but whose answer was lost
// is not sent again: it fails Permanent with ErrInDoubt and waits in the
// dead-letter queue for an operator (check the backend, then retry or
// discard). Every other failure of a create is certain not to have
// created anything (no connection, or an answer refusing it), so the
// retry creates it. PATCH, DELETE and GET repeat harmlessly.
func (c *Connector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	res, err := c.deliver(ctx, d)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("delivering %s %s of %s/%s: %w", d.Flow, d.Op, d.ResourceType, d.ResourceID, err)
	}
	res.IDName = IDName
	return res, nil
}

// IDName is the identifier a room's id is written back as on the
// Appointment: urn:fhirbridge:bandyer:roomId.
const IDName = "roomId"

func (c *Connector) deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Flow != FlowTeleconsultation {
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	rec, err := parseRecord(d.Body)
	if err != nil {
		return connectors.Result{}, connectors.Permanently(err)
	}
	if d.Op == connectors.Cancel || terminal[rec.Status] {
		if d.VendorID == "" {
			return connectors.Result{}, nil // never created: nothing to delete
		}
		_, _, err := c.c.do(ctx, request{method: http.MethodDelete, tmpl: PathRoom, room: d.VendorID, mayRepeat: true})
		if err != nil && !errors.Is(err, ErrRoomNotFound) {
			return connectors.Result{}, fmt.Errorf("deleting the teleconsultation: %w", err)
		}
		return connectors.Result{VendorID: d.VendorID}, nil
	}
	now := c.s.wire(rec)
	if err := c.s.plusRule(now); err != nil {
		return connectors.Result{}, err
	}
	if d.VendorID == "" {
		return c.create(ctx, now)
	}
	var prev *wireRoom
	if fn := c.previous.Load(); fn != nil {
		v, err := (*fn)(ctx, d.ResourceType, d.ResourceID)
		if err != nil {
			return connectors.Result{}, connectors.Transiently(fmt.Errorf("reading the record last delivered: %w", err), 0)
		}
		if v != nil {
			if p, err := decodeRecord(v); err == nil {
				w := c.s.wire(p)
				prev = &w
			}
		}
	}
	patch, added := changes(prev, now)
	if len(patch) == 0 && len(added) == 0 {
		return connectors.Result{VendorID: d.VendorID}, nil // nothing the backend keeps changed
	}
	state := now
	if prev != nil {
		state = *prev
	}
	if c.inImmutable(state) {
		c.refused.Add(1)
		return connectors.Result{}, connectors.Permanently(ErrImmutable)
	}
	if len(patch) > 0 {
		body, _ := json.Marshal(patch)
		if _, _, err := c.c.do(ctx, request{method: http.MethodPatch, tmpl: PathRoom, room: d.VendorID, body: body, mayRepeat: true}); err != nil {
			return connectors.Result{}, fmt.Errorf("updating the teleconsultation: %w", err)
		}
	}
	for _, p := range added {
		body, _ := json.Marshal(p)
		if _, _, err := c.c.do(ctx, request{method: http.MethodPost, tmpl: PathParticipants, room: d.VendorID, body: body}); err != nil {
			return connectors.Result{}, fmt.Errorf("adding a participant: %w", err)
		}
	}
	return connectors.Result{VendorID: d.VendorID, Attributes: c.links(ctx, d.VendorID, now)}, nil
}

// create POSTs the teleconsultation and reads its roomId.
func (c *Connector) create(ctx context.Context, w wireRoom) (connectors.Result, error) {
	body, _ := json.Marshal(w.body())
	_, data, err := c.c.do(ctx, request{method: http.MethodPost, tmpl: PathCreate, body: body})
	if err != nil {
		return connectors.Result{}, fmt.Errorf("creating the teleconsultation: %w", err)
	}
	var a struct {
		RoomID string `json:"roomId"`
	}
	if json.Unmarshal(data, &a) != nil || a.RoomID == "" {
		// created, but nothing to keep: a retry would create another
		return connectors.Result{}, connectors.Permanently(ErrNoRoomID)
	}
	return connectors.Result{VendorID: a.RoomID, Attributes: c.links(ctx, a.RoomID, w)}, nil
}

// inImmutable reports whether a change to a room in state w is inside the
// immutable period: all participants known and now at or after
// start - immutable_period.
func (c *Connector) inImmutable(w wireRoom) bool {
	if c.s.immutable <= 0 || !w.complete() {
		return false
	}
	start, err := time.Parse(time.RFC3339Nano, w.Start)
	if err != nil {
		return false
	}
	return !c.now().Before(start.Add(-c.s.immutable))
}

// changes compares the room last delivered (nil: unknown) with now: the
// PATCH members that changed, and the participants to push one by one
// (those added to the data of an unchanged number, the earlier ones
// unchanged). Any other participant change PATCHes participants whole.
func changes(prev *wireRoom, now wireRoom) (patch map[string]any, added []wireParticipant) {
	patch = map[string]any{}
	if prev == nil {
		patch["start_date"], patch["end_date"] = now.Start, now.End
		patch["participants"] = now.participants()
		return patch, nil
	}
	if prev.Start != now.Start {
		patch["start_date"] = now.Start
	}
	if prev.End != now.End {
		patch["end_date"] = now.End
	}
	switch {
	case prev.Number == now.Number && slices.EqualFunc(prev.Data, now.Data, wireParticipant.equal):
	case prev.Number == now.Number && !prev.Auth0List && len(now.Data) > len(prev.Data) &&
		slices.EqualFunc(prev.Data, now.Data[:len(prev.Data)], wireParticipant.equal):
		added = now.Data[len(prev.Data):]
	default:
		patch["participants"] = now.participants()
	}
	return patch, added
}
