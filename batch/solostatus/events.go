package solostatus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// Event is a decrypted webhook event: the spec's
// {"event":{"type"},"data":{"patientId"|"appointmentId"|"episodeId"}}, and
// an event id when Solo sends one (event.id; the spec shows none).
type Event struct {
	// ID is Solo's event id, "" when absent.
	ID string
	// Type is one of solo.WebhookEvents, e.g. "appointment:completed".
	Type string
	// ObjectID is the Solo id the event names: a SAID, SPID or episode id.
	ObjectID string
}

// ErrEvent is returned by ParseEvent for a payload that is not a webhook
// event the bridge understands.
var ErrEvent = errors.New("not a solo webhook event")

// ParseEvent reads a decrypted payload.
func ParseEvent(plain []byte) (Event, error) {
	var doc struct {
		Event struct {
			Type string          `json:"type"`
			ID   json.RawMessage `json:"id"`
		} `json:"event"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(plain, &doc); err != nil {
		return Event{}, ErrEvent
	}
	ev := Event{Type: doc.Event.Type, ID: scalar(doc.Event.ID)}
	if !slices.Contains(solo.WebhookEvents, ev.Type) {
		return Event{}, ErrEvent
	}
	kind, _, _ := strings.Cut(ev.Type, ":")
	ev.ObjectID = scalar(doc.Data[kind+"Id"])
	if ev.ObjectID == "" || len(ev.ObjectID) > 64 || len(ev.ID) > 128 {
		return Event{}, ErrEvent
	}
	return ev, nil
}

// scalar is a JSON string or integer as text, else "".
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if _, err := n.Int64(); err == nil {
			return n.String()
		}
	}
	return ""
}

// PayloadHash is the replay key of a payload: the hex SHA-256 of the
// encrypted text as received.
func PayloadHash(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

// Record stores ev under hash as pending and reports whether it was new;
// an event seen before (same hash, or same event id) is a replay and
// records nothing.
func (s *Syncer) Record(ctx context.Context, hash string, ev Event) (fresh bool, err error) {
	now := s.now().UnixMicro()
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO solo_webhook_events
			(hash, event_id, type, object_id, state, attempts, last_error, received_at, next_at)
			VALUES (?, ?, ?, ?, ?, 0, '', ?, ?) ON CONFLICT DO NOTHING`),
			hash, ev.ID, ev.Type, ev.ObjectID, StatePending, now, now)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, store.Classify("recording solo webhook event", err)
	}
	return fresh, nil
}

// EventRow is one recorded event.
type EventRow struct {
	Hash string
	Event
	State     string
	Attempts  int
	LastError string
}

// Events lists recorded events in the given states (all when none), oldest
// first.
func (s *Syncer) Events(ctx context.Context, states ...string) ([]EventRow, error) {
	q := `SELECT hash, event_id, type, object_id, state, attempts, last_error FROM solo_webhook_events`
	var args []any
	if len(states) > 0 {
		q += ` WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, st := range states {
			args = append(args, st)
		}
	}
	return s.eventRows(ctx, q+` ORDER BY received_at, hash`, args...)
}

func (s *Syncer) eventRows(ctx context.Context, q string, args ...any) ([]EventRow, error) {
	rows, err := s.Store.DB().QueryContext(ctx, s.Store.Rebind(q), args...)
	if err != nil {
		return nil, store.Classify("reading solo webhook events", err)
	}
	defer rows.Close()
	var out []EventRow
	for rows.Next() {
		var r EventRow
		if err := rows.Scan(&r.Hash, &r.ID, &r.Type, &r.ObjectID, &r.State, &r.Attempts, &r.LastError); err != nil {
			return nil, store.Classify("reading solo webhook events", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ProcessEvents handles the events that are due: pending ones, failed
// ones whose backoff ended and, when retryUnknown is set (a new event
// arrived), those that named an unknown id. It returns how many it handled.
func (s *Syncer) ProcessEvents(ctx context.Context, retryUnknown bool) (int, error) {
	q := `SELECT hash, event_id, type, object_id, state, attempts, last_error FROM solo_webhook_events
		WHERE (state IN ('pending', 'failed') AND next_at <= ?)`
	if retryUnknown {
		q += ` OR state = 'unknown'`
	}
	rows, err := s.eventRows(ctx, q+` ORDER BY received_at, hash LIMIT 200`, s.now().UnixMicro())
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err := s.handle(ctx, r); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// Replay handles again every event left unknown, failed or dead (for
// `fhirbridge solo webhooks replay`) and returns the rows as they ended.
func (s *Syncer) Replay(ctx context.Context) ([]EventRow, error) {
	rows, err := s.Events(ctx, StateUnknown, StateFailed, StateDead)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if err := s.handle(ctx, r); err != nil {
			return nil, err
		}
	}
	hashes := map[string]bool{}
	for _, r := range rows {
		hashes[r.Hash] = true
	}
	all, err := s.Events(ctx)
	var out []EventRow
	for _, r := range all {
		if hashes[r.Hash] {
			out = append(out, r)
		}
	}
	return out, err
}

// handle runs one event and records its new state. It returns an error
// only when the state cannot be recorded.
func (s *Syncer) handle(ctx context.Context, r EventRow) error {
	err := s.apply(ctx, r.Event)
	state, msg := StateDone, ""
	attempts := r.Attempts + 1
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknown):
		state, msg = StateUnknown, "unknown id"
		s.log().Warn("solo webhook event for an unknown id, kept for replay", "event", r.Type, "solo_id", r.ObjectID, "event_id", r.ID)
	default:
		state, msg = StateFailed, err.Error()
		if class, _ := connectors.Classify(err); class == connectors.Permanent || attempts >= s.maxAttempts() {
			state = StateDead
		}
		s.log().Warn("solo webhook event failed", "event", r.Type, "solo_id", r.ObjectID, "attempts", attempts, "state", state, "error", err)
	}
	next := s.now().Add(backoff(attempts)).UnixMicro()
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE solo_webhook_events
			SET state = ?, attempts = ?, last_error = ?, next_at = ? WHERE hash = ?`), state, attempts, msg, next, r.Hash)
		return err
	})
	if err != nil {
		return store.Classify("recording the outcome of a solo webhook event", err)
	}
	return nil
}

// apply does what one event asks: an appointment is synced; a patient or
// an episode is fetched from Solo and matched to its FHIR resource. The
// EHR owns demographics and episodes, so those are not written back: the
// event is matched, logged by id and done.
func (s *Syncer) apply(ctx context.Context, ev Event) error {
	kind, _, _ := strings.Cut(ev.Type, ":")
	switch kind {
	case "appointment":
		_, err := s.SyncAppointment(ctx, ev.ObjectID)
		return err
	case "patient":
		body, err := s.Solo.PatientJSONBySPID(ctx, ev.ObjectID)
		if err != nil {
			return s.fetchErr(err)
		}
		var doc struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(body, &doc)
		return s.matched(ctx, "Patient", scalar(doc.ID), ev)
	case "episode":
		if _, err := s.Solo.EpisodeJSON(ctx, ev.ObjectID); err != nil {
			return s.fetchErr(err)
		}
		return s.matched(ctx, "EpisodeOfCare", ev.ObjectID, ev)
	}
	return connectors.Permanently(ErrEvent)
}

func (s *Syncer) fetchErr(err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%w: %w", ErrUnknown, err)
	}
	return err
}

// matched finds the FHIR resource of a patient or episode event.
func (s *Syncer) matched(ctx context.Context, typ, vendorID string, ev Event) error {
	if vendorID == "" {
		return ErrUnknown
	}
	id, err := s.Store.FHIRID(ctx, Vendor, typ, vendorID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", typ, ErrUnknown)
	}
	if err != nil {
		return err
	}
	s.log().Info("solo webhook event matched", "event", ev.Type, "type", typ, "id", id)
	return nil
}
