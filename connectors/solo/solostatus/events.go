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

	"github.com/fhirbridge/fhirbridge/batch/delivery"
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

// WebhookFlow is the delivery flow whose jobs are the recorded webhook
// events: a worker flow (delivery.Flow.Work) of the vendor "solo", so that
// events share the queue's backoff, Retry-After, circuit, dead letters and
// `fhirbridge deliveries` with Solo's deliveries.
const WebhookFlow = "solo/webhook"

// eventData is an event as kept in its job's data.
type eventData struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	ObjectID string `json:"object_id"`
}

// eventKey is an event's idempotency key in WebhookFlow: Solo's event id
// when it sends one (a re-encrypted replay has other bytes), else the
// hash of the payload as received.
func eventKey(hash string, ev Event) string {
	if ev.ID != "" {
		return "event:" + ev.ID
	}
	return "sha256:" + hash
}

// Record stores ev, received as the payload whose PayloadHash is hash, as
// a pending job of WebhookFlow and reports whether it was new; an event
// seen before (same event id, or same payload) is a replay and records
// nothing. The job is committed when Record returns.
func (s *Syncer) Record(ctx context.Context, hash string, ev Event) (fresh bool, err error) {
	data, err := json.Marshal(eventData{ID: ev.ID, Type: ev.Type, ObjectID: ev.ObjectID})
	if err != nil {
		return false, fmt.Errorf("recording solo webhook event: %w", err)
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		fresh, err = delivery.EnqueueWork(ctx, tx, delivery.WorkJob{Flow: WebhookFlow, Kind: ev.Type, Key: eventKey(hash, ev), Data: data})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("recording solo webhook event: %w", err)
	}
	return fresh, nil
}

// EventRow is one recorded event: its job in WebhookFlow.
type EventRow struct {
	// JobID is the event's delivery job; Key its idempotency key.
	JobID int64
	Key   string
	Event
	// State is the event's state (StatePending, ...), read from its job.
	State     string
	Attempts  int
	LastError string
}

// eventState names the event state of a job of WebhookFlow.
func eventState(j delivery.JobInfo) string {
	switch j.State {
	case delivery.StateDelivered:
		return StateDone
	case delivery.StateDeadLetter:
		if strings.Contains(j.LastError, ErrUnknown.Error()) {
			return StateUnknown
		}
		return StateDead
	case delivery.StateDiscarded:
		return StateDiscarded
	}
	if j.LastError != "" && j.Attempts > 0 {
		return StateFailed
	}
	return StatePending
}

// eventRow reads the event of a job of WebhookFlow.
func eventRow(j delivery.JobInfo) EventRow {
	var d eventData
	_ = json.Unmarshal(j.Data, &d) // Work refuses data that does not read
	return EventRow{JobID: j.ID, Key: j.ResourceID, Event: Event{ID: d.ID, Type: j.ResourceType, ObjectID: d.ObjectID},
		State: eventState(j), Attempts: j.Attempts, LastError: j.LastError}
}

// Events lists recorded events in the given states (all when none), in
// the order they were recorded.
func (s *Syncer) Events(ctx context.Context, states ...string) ([]EventRow, error) {
	jobs, err := delivery.NewQueue(s.Store).List(ctx, delivery.Filter{Flow: WebhookFlow})
	if err != nil {
		return nil, fmt.Errorf("reading solo webhook events: %w", err)
	}
	var out []EventRow
	for _, j := range jobs {
		if r := eventRow(j); len(states) == 0 || slices.Contains(states, r.State) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Flow is WebhookFlow's delivery flow: Work handles each event, with
// MaxAttempts (when set) bounding the tries of one that keeps failing.
func (s *Syncer) Flow() delivery.Flow {
	return delivery.Flow{Vendor: Vendor, Work: s.Work, MaxAttempts: s.MaxAttempts}
}

// Work handles one recorded event (a job of WebhookFlow). An event naming
// an id the bridge does not know is a permanent failure whose reason wraps
// ErrUnknown: dead-lettered and kept, it is tried again when a new event
// arrives (RetryUnknown) and by Replay.
func (s *Syncer) Work(ctx context.Context, w delivery.Work) error {
	var d eventData
	if err := json.Unmarshal(w.Data, &d); err != nil || d.ObjectID == "" {
		return connectors.Permanently(fmt.Errorf("solo webhook job %d: %w", w.JobID, ErrEvent))
	}
	ev := Event{ID: d.ID, Type: w.Kind, ObjectID: d.ObjectID}
	err := s.apply(ctx, ev)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnknown):
		s.log().Warn("solo webhook event for an unknown id, kept for replay", "event", ev.Type, "solo_id", ev.ObjectID, "event_id", ev.ID)
		return connectors.Permanently(fmt.Errorf("solo %s event for %s: %w", ev.Type, ev.ObjectID, err))
	}
	s.log().Warn("solo webhook event failed", "event", ev.Type, "solo_id", ev.ObjectID, "attempt", w.Attempt, "error", err)
	return fmt.Errorf("solo %s event for %s: %w", ev.Type, ev.ObjectID, err)
}

// RetryUnknown makes the events left unknown due again (a new event
// arrived: the id they name may be known by now) and returns how many.
func (s *Syncer) RetryUnknown(ctx context.Context) (int, error) {
	rows, err := s.Events(ctx, StateUnknown)
	if err != nil {
		return 0, err
	}
	q := delivery.NewQueue(s.Store)
	n := 0
	for _, r := range rows {
		if err := q.Retry(ctx, r.JobID); err != nil && !errors.Is(err, delivery.ErrState) {
			return n, fmt.Errorf("retrying unknown solo webhook events: %w", err)
		} else if err == nil {
			n++
		}
	}
	return n, nil
}

// Replay handles again, at once, every event left unknown, failed or dead
// (for `fhirbridge solo webhooks replay`) and returns the rows as they
// ended. It works WebhookFlow's due jobs in the calling goroutine beside a
// serve that may be running.
func (s *Syncer) Replay(ctx context.Context) ([]EventRow, error) {
	rows, err := s.Events(ctx, StateUnknown, StateFailed, StateDead)
	if err != nil {
		return nil, err
	}
	q := delivery.NewQueue(s.Store)
	for _, r := range rows {
		if err := q.Retry(ctx, r.JobID); err != nil && !errors.Is(err, delivery.ErrState) {
			return nil, fmt.Errorf("replaying solo webhook events: %w", err)
		}
	}
	runner, err := delivery.NewRunner(ctx, s.Store, map[string]delivery.Flow{WebhookFlow: s.Flow()},
		delivery.Options{Logger: s.Log, Shared: true})
	if err != nil {
		return nil, fmt.Errorf("replaying solo webhook events: %w", err)
	}
	if _, err := runner.Drain(ctx); err != nil {
		return nil, fmt.Errorf("replaying solo webhook events: %w", err)
	}
	out := make([]EventRow, 0, len(rows))
	for _, r := range rows {
		j, err := q.Show(ctx, r.JobID)
		if err != nil {
			return nil, fmt.Errorf("replaying solo webhook events: %w", err)
		}
		out = append(out, eventRow(j))
	}
	return out, nil
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
