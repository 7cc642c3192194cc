package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"net/http"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Bounds of an audit row's fields.
const (
	maxAction = 64
	maxTarget = 512
)

// Audit records that the request's user did action (a short dotted verb,
// e.g. "delivery.retry") on target (our ids, counts, types — never
// patient data), with the time and the remote address.
func Audit(r *http.Request, action, target string) error {
	st := stateOf(r)
	if st == nil || st.sess == nil {
		return errors.New("console.Audit: outside a console request")
	}
	return st.s.writeAudit(r.Context(), st.sess.user.Name, remoteOf(r), action, target)
}

// AuditPHIView records that the request's user was shown patient data:
// what names the view (e.g. "message 1234 as received"), without values.
func AuditPHIView(r *http.Request, what string) error {
	return Audit(r, "phi.view", what)
}

// audit writes an audit row, logging (not returning) a failure: for the
// login path, where the answer must not depend on the audit log.
func (s *Server) audit(ctx context.Context, user, remote, action, target string) {
	if err := s.writeAudit(ctx, user, remote, action, target); err != nil {
		s.opts.Logger.Error("console: writing the audit log", "action", action, "error", err.Error())
	}
}

func (s *Server) writeAudit(ctx context.Context, user, remote, action, target string) error {
	if action == "" || len(action) > maxAction {
		return fmt.Errorf("console.Audit: action must be 1-%d bytes", maxAction)
	}
	return WriteAudit(ctx, s.opts.Store, AuditEntry{At: s.opts.Now(), User: user, Remote: remote, Action: action, Target: truncate(target, maxTarget)})
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID     int64
	At     time.Time
	User   string // "" for an unknown user (a failed login)
	Remote string // the remote address; "cli" for the command line
	Action string
	Target string
}

// WriteAudit appends e to the audit log (the CLI records user changes
// with it).
func WriteAudit(ctx context.Context, st *store.Store, e AuditEntry) error {
	err := st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO console_audit (at, user_name, remote, action, target) VALUES (?, ?, ?, ?, ?)`),
			micros(e.At), e.User, e.Remote, e.Action, e.Target)
		return err
	})
	return store.Classify("writing the console audit log", err)
}

// AuditFilter selects audit rows, newest first, keyset-paged by id.
type AuditFilter struct {
	User   string // exact user name, "" for all
	Action string // exact action, "" for all
	Before int64  // only rows with id < Before; 0 for the newest
	Limit  int    // at most this many (1-500; 0: 100)
}

// ListAudit lists audit rows by f.
func ListAudit(ctx context.Context, st *store.Store, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 500 {
		f.Limit = 500
	}
	q := `SELECT id, at, user_name, remote, action, target FROM console_audit WHERE 1 = 1`
	var args []any
	if f.User != "" {
		q += ` AND user_name = ?`
		args = append(args, f.User)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit)
	rows, err := st.DB().QueryContext(ctx, st.Rebind(q), args...)
	if err != nil {
		return nil, store.Classify("listing the console audit log", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Remote, &e.Action, &e.Target); err != nil {
			return nil, store.Classify("listing the console audit log", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("listing the console audit log", err)
	}
	return out, nil
}
