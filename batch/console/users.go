package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// User is a console user as the pages see it.
type User struct {
	// Name is the login name.
	Name string
	// Role is what the user may do.
	Role Role
}

// Can reports whether u holds role r or a higher one.
func (u *User) Can(r Role) bool { return u != nil && u.Role >= r }

// UserInfo is a stored user, for the users page and the CLI (never the
// hash).
type UserInfo struct {
	Name      string
	Role      Role
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrNoUser reports a user name that is not in console_users.
var ErrNoUser = errors.New("no such console user")

// ErrUserExists reports adding a user whose name is taken.
var ErrUserExists = errors.New("console user already exists")

// userName is what a login name may be: it appears in the audit log.
var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckUserName says why name is not a valid login name.
func CheckUserName(name string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("user name %q: 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", truncate(name, 64))
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// AddUser stores a new user with the argon2id hash of password (params p;
// zero means DefaultParams).
func AddUser(ctx context.Context, st *store.Store, name string, role Role, password string, p Params, now time.Time) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if roleNames[role] == "" {
		return fmt.Errorf("role %d: not a console role", int(role))
	}
	hash, err := HashPassword(password, p)
	if err != nil {
		return err
	}
	return st.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT COUNT(*) FROM console_users WHERE name = ?`), name).Scan(&n); err != nil {
			return store.Classify("reading console users", err)
		}
		if n > 0 {
			return fmt.Errorf("adding %q: %w", name, ErrUserExists)
		}
		_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO console_users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
			name, role.String(), hash, micros(now), micros(now))
		if err != nil {
			return store.Classify("adding a console user", err)
		}
		return nil
	})
}

// SetPassword replaces the user's password hash and ends the user's
// sessions.
func SetPassword(ctx context.Context, st *store.Store, name, password string, p Params, now time.Time) error {
	hash, err := HashPassword(password, p)
	if err != nil {
		return err
	}
	return st.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE console_users SET password_hash = ?, updated_at = ? WHERE name = ?`), hash, micros(now), name)
		if err := changed(res, err, name, "setting the password of a console user"); err != nil {
			return err
		}
		return endSessions(ctx, tx, name)
	})
}

// SetRole changes the user's role; it takes effect on the next request.
func SetRole(ctx context.Context, st *store.Store, name string, role Role, now time.Time) error {
	if roleNames[role] == "" {
		return fmt.Errorf("role %d: not a console role", int(role))
	}
	return st.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE console_users SET role = ?, updated_at = ? WHERE name = ?`), role.String(), micros(now), name)
		return changed(res, err, name, "setting the role of a console user")
	})
}

// RemoveUser deletes the user and the user's sessions.
func RemoveUser(ctx context.Context, st *store.Store, name string) error {
	return st.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM console_users WHERE name = ?`), name)
		if err := changed(res, err, name, "removing a console user"); err != nil {
			return err
		}
		return endSessions(ctx, tx, name)
	})
}

func endSessions(ctx context.Context, tx *store.Tx, name string) error {
	if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM console_sessions WHERE user_name = ?`), name); err != nil {
		return store.Classify("ending the sessions of a console user", err)
	}
	return nil
}

// changed turns an UPDATE/DELETE result that touched no row into ErrNoUser.
func changed(res sql.Result, err error, name, op string) error {
	if err != nil {
		return store.Classify(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Classify(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", op, truncate(name, 64), ErrNoUser)
	}
	return nil
}

// ListUsers lists the users by name.
func ListUsers(ctx context.Context, st *store.Store) ([]UserInfo, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT name, role, created_at, updated_at FROM console_users ORDER BY name`)
	if err != nil {
		return nil, store.Classify("listing console users", err)
	}
	defer rows.Close()
	var out []UserInfo
	for rows.Next() {
		var u UserInfo
		var role string
		var c, up int64
		if err := rows.Scan(&u.Name, &role, &c, &up); err != nil {
			return nil, store.Classify("listing console users", err)
		}
		if u.Role, err = ParseRole(role); err != nil {
			return nil, fmt.Errorf("console user %q: %w", u.Name, err)
		}
		u.CreatedAt, u.UpdatedAt = time.UnixMicro(c).UTC(), time.UnixMicro(up).UTC()
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("listing console users", err)
	}
	return out, nil
}

// HasUsers reports whether at least one console user exists (serve turns
// the console on by default only then).
func HasUsers(ctx context.Context, st *store.Store) (bool, error) {
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM console_users LIMIT 1) x`).Scan(&n); err != nil {
		return false, store.Classify("counting console users", err)
	}
	return n > 0, nil
}

// lookupHash reads the user's role and password hash.
func lookupHash(ctx context.Context, st *store.Store, name string) (Role, string, error) {
	var role, hash string
	err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT role, password_hash FROM console_users WHERE name = ?`), name).Scan(&role, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", ErrNoUser
	}
	if err != nil {
		return 0, "", store.Classify("reading a console user", err)
	}
	r, err := ParseRole(role)
	if err != nil {
		return 0, "", fmt.Errorf("console user %q: %w", name, err)
	}
	return r, hash, nil
}
