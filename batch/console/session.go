package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// A session token is 32 random bytes in unpadded base64url (43
// characters). The browser holds it in the cookie; the store keeps only
// its SHA-256, so reading the database gives no session. The CSRF token
// of a session is an HMAC of the fixed label "csrf" keyed with the
// session token: unguessable without the cookie, and nothing to store.
const (
	tokenBytes = 32
	tokenLen   = 43 // base64url of 32 bytes, unpadded
)

// errBadToken reports a cookie or CSRF value that is not a token.
var errBadToken = errors.New("malformed token")

// newToken returns a fresh session token.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// parseToken checks that s is a token as newToken makes them and returns
// its bytes; everything else (any length, any alphabet) is refused before
// it reaches the store.
func parseToken(s string) ([]byte, error) {
	if len(s) != tokenLen {
		return nil, errBadToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tokenBytes {
		return nil, errBadToken
	}
	return b, nil
}

// sessionID is the stored key of a session token.
func sessionID(token []byte) string {
	h := sha256.Sum256(token)
	return hex.EncodeToString(h[:])
}

// csrfFor is the CSRF token of the session whose token is given.
func csrfFor(token []byte) string {
	m := hmac.New(sha256.New, token)
	m.Write([]byte("csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether got is the CSRF token of the session token.
func checkCSRF(token []byte, got string) bool {
	if len(got) != tokenLen {
		return false
	}
	return hmac.Equal([]byte(csrfFor(token)), []byte(got))
}

// session is a live session as read from the store.
type session struct {
	id       string
	token    []byte
	user     User
	created  time.Time
	lastSeen time.Time
}

// createSession stores a new session for user and returns its token.
func createSession(ctx context.Context, st *store.Store, user, remote string, now time.Time) (string, error) {
	tok, err := newToken()
	if err != nil {
		return "", err
	}
	raw, _ := parseToken(tok)
	err = st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO console_sessions (id, user_name, remote, created_at, last_seen) VALUES (?, ?, ?, ?, ?)`),
			sessionID(raw), user, remote, micros(now), micros(now))
		return err
	})
	if err != nil {
		return "", store.Classify("creating a console session", err)
	}
	return tok, nil
}

// touchEvery bounds how often a session's last_seen is written: a request
// within this time of the last write does not write again.
const touchEvery = 30 * time.Second

// loadSession reads the session of token, ends it when idle or absolute
// timeout has passed (or its user is gone), and refreshes last_seen.
func loadSession(ctx context.Context, st *store.Store, token []byte, now time.Time, idle, absolute time.Duration) (*session, error) {
	id := sessionID(token)
	var name, role string
	var created, seen int64
	err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT s.user_name, u.role, s.created_at, s.last_seen FROM console_sessions s
		JOIN console_users u ON u.name = s.user_name WHERE s.id = ?`), id).Scan(&name, &role, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Classify("reading a console session", err)
	}
	s := &session{id: id, token: token, created: time.UnixMicro(created), lastSeen: time.UnixMicro(seen)}
	s.user.Name = name
	if s.user.Role, err = ParseRole(role); err != nil {
		return nil, fmt.Errorf("console user %q: %w", name, err)
	}
	if now.Sub(s.lastSeen) >= idle || now.Sub(s.created) >= absolute {
		return nil, deleteSession(ctx, st, id)
	}
	if now.Sub(s.lastSeen) >= touchEvery {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE console_sessions SET last_seen = ? WHERE id = ?`), micros(now), id)
			return err
		})
		if err != nil {
			return nil, store.Classify("refreshing a console session", err)
		}
		s.lastSeen = now
	}
	return s, nil
}

// deleteSession ends one session.
func deleteSession(ctx context.Context, st *store.Store, id string) error {
	err := st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM console_sessions WHERE id = ?`), id)
		return err
	})
	if err != nil {
		return store.Classify("ending a console session", err)
	}
	return nil
}

// PruneSessions deletes the sessions past their timeouts and login
// attempts older than the rate-limit window; serve runs it periodically.
func PruneSessions(ctx context.Context, st *store.Store, now time.Time, idle, absolute time.Duration) error {
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM console_sessions WHERE last_seen <= ? OR created_at <= ?`),
			micros(now.Add(-idle)), micros(now.Add(-absolute))); err != nil {
			return err
		}
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM console_login_attempts WHERE at <= ?`), micros(now.Add(-loginWindow)))
		return err
	})
	if err != nil {
		return store.Classify("pruning console sessions", err)
	}
	return nil
}

// CSRFForCookie returns the CSRF token that belongs to a session cookie's
// value (for tests and tools that post forms without reading a page).
// Knowing it requires the session token itself.
func CSRFForCookie(value string) (string, error) {
	raw, err := parseToken(value)
	if err != nil {
		return "", err
	}
	return csrfFor(raw), nil
}

// CookieName is the name of the console's session cookie.
const CookieName = cookieName

// newTokenString is the cookie value of token bytes.
func newTokenString(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }
