package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Direction tells whether a message came into the bridge or went out.
type Direction string

// Message directions.
const (
	In  Direction = "in"
	Out Direction = "out"
)

// Message statuses. Pending, InFlight and DeadLetter are not terminal:
// [Store.Prune] never removes them. Delivered, Rejected and Accepted are.
const (
	StatusPending    = "pending"   // waiting to be delivered
	StatusInFlight   = "in_flight" // a worker holds it
	StatusDeadLetter = "dlq"       // failed permanently, awaits an operator
	StatusDelivered  = "delivered" // the vendor accepted it
	StatusRejected   = "rejected"  // refused (invalid input, vendor 4xx) and answered
	StatusAccepted   = "accepted"  // inbound, stored and acknowledged
)

// terminalStatuses are the statuses Prune may remove.
var terminalStatuses = []string{StatusDelivered, StatusRejected, StatusAccepted}

// Message is one entry of the message log. Only Body may hold patient
// values (it is kept for reviewers); every other field must be a code, a
// type, an id of ours or a vendor's, or a status.
type Message struct {
	// ID is assigned by LogMessage.
	ID int64
	// At is when it happened (UTC); zero means now.
	At time.Time
	// Direction is In or Out.
	Direction Direction
	// Kind says what it is, e.g. "bundle-transaction", "solo.patient.create".
	Kind string
	// ResourceType and ResourceID name the FHIR resource concerned, if any.
	ResourceType, ResourceID string
	// Vendor is the connector name for outbound messages.
	Vendor string
	// Status is one of the Status constants.
	Status string
	// Outcome is a short code or PHI-free reason (e.g. "vendor 422").
	Outcome string
	// Body is the payload, possibly nil.
	Body []byte
	// Identifier is an inbound Bundle's identifier value. It is stored
	// only as its SHA-256 (like the identifier index), so that a search
	// finds the message by it, and never read back.
	Identifier string
	// JobID is the delivery job an outbound message records (0: none).
	JobID int64
	// StatusCode is the vendor's HTTP status, when known (0 otherwise).
	StatusCode int
	// Elapsed is how long the vendor took to answer, when known.
	Elapsed time.Duration
	// Resources are the resource versions an inbound message stored; they
	// are written with the message and read with [Store.MessageResources].
	Resources []MessageResource
}

// MessageResource names one resource version an inbound message stored.
type MessageResource struct {
	Type, ID string
	Version  int
}

// LogMessage appends m to the message log and returns its id.
func (tx *Tx) LogMessage(ctx context.Context, m Message) (int64, error) {
	const op = "logging message"
	if m.Direction != In && m.Direction != Out {
		return 0, fmt.Errorf("%s: direction must be %q or %q", op, In, Out)
	}
	if m.At.IsZero() {
		m.At = tx.s.now()
	}
	ident := ""
	if m.Identifier != "" {
		ident = valueHash(m.Identifier)
	}
	var id int64
	err := tx.s.row(ctx, tx, op, qInsertMessage,
		[]any{tx.s.ts(m.At), string(m.Direction), m.Kind, m.ResourceType, m.ResourceID, m.Vendor, m.Status, m.Outcome, m.Body,
			ident, m.JobID, m.StatusCode, m.Elapsed.Microseconds()},
		&id)
	if err != nil {
		return 0, err
	}
	for _, r := range m.Resources {
		if _, err := tx.exec(ctx, op, qInsertMessageResource, id, r.Type, r.ID, r.Version); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// SetMessageStatus updates the status and outcome of message id, or returns
// [ErrNotFound].
func (tx *Tx) SetMessageStatus(ctx context.Context, id int64, status, outcome string) error {
	op := fmt.Sprintf("updating message %d", id)
	res, err := tx.exec(ctx, op, qSetMessageStatus, status, outcome, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return tx.s.classify(op, err)
	} else if n == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// MessageFilter selects messages; zero fields match everything.
type MessageFilter struct {
	// Direction keeps In or Out messages only.
	Direction Direction
	// Kind, ResourceType, ResourceID, Vendor and Status match exactly.
	Kind, ResourceType, ResourceID, Vendor, Status string
	// Since and Until bound At: Since <= At < Until.
	Since, Until time.Time
	// Limit caps the result (0: no cap). Messages come oldest first.
	Limit int
}

// Messages returns the messages matching f, oldest first.
func (s *Store) Messages(ctx context.Context, f MessageFilter) ([]Message, error) {
	const op = "listing messages"
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Direction != "" {
		add("direction = ?", string(f.Direction))
	}
	for _, c := range []struct{ col, v string }{
		{"kind", f.Kind}, {"resource_type", f.ResourceType}, {"resource_id", f.ResourceID},
		{"vendor", f.Vendor}, {"status", f.Status},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.Since.IsZero() {
		add("at >= ?", s.ts(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", s.ts(f.Until))
	}
	q := `SELECT id, at, direction, kind, resource_type, resource_id, vendor, status, outcome, body FROM messages`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var dir string
		if err := rows.Scan(&m.ID, timeCol{&m.At}, &dir, &m.Kind, &m.ResourceType, &m.ResourceID,
			&m.Vendor, &m.Status, &m.Outcome, &m.Body); err != nil {
			return nil, s.classify(op, err)
		}
		m.Direction = Direction(dir)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(op, err)
	}
	return out, nil
}

// Prune deletes terminal rows older than olderThan: messages whose status
// is delivered, rejected or accepted, and remembered requests. It never
// deletes pending, in-flight or dead-lettered messages, whatever their age.
// Pass a cut-off no later than now minus the replay window, so that a
// retried request is still recognised. It returns the number of rows
// deleted.
func (s *Store) Prune(ctx context.Context, olderThan time.Time) (int64, error) {
	var total int64
	err := s.InTx(ctx, func(tx *Tx) error {
		total = 0
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(terminalStatuses)), ", ")
		args := []any{s.ts(olderThan)}
		for _, st := range terminalStatuses {
			args = append(args, st)
		}
		if _, err := tx.exec(ctx, "pruning message resources", `DELETE FROM message_resources WHERE message_id IN (
			SELECT id FROM messages WHERE at < ? AND status IN (`+ph+`))`, args...); err != nil {
			return err
		}
		res, err := tx.exec(ctx, "pruning messages", `DELETE FROM messages WHERE at < ? AND status IN (`+ph+`)`, args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += n
		res, err = tx.exec(ctx, "pruning requests", `DELETE FROM requests WHERE created_at < ?`, s.ts(olderThan))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		total += n
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
