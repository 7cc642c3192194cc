package console

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
)

// TestStoreParts runs the users, sessions, audit and login-attempt tables
// on SQLite and PostgreSQL.
func TestStoreParts(t *testing.T) {
	storetest.Each(t, "console", func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		if has, err := HasUsers(ctx, st); err != nil || has {
			t.Fatalf("HasUsers on an empty store: %v, %v", has, err)
		}
		for _, u := range []struct {
			name string
			role Role
		}{{"zoe", RoleViewer}, {"adam", RoleAdmin}} {
			if err := AddUser(ctx, st, u.name, u.role, "password-"+u.name, fast, now); err != nil {
				t.Fatal(err)
			}
		}
		if err := AddUser(ctx, st, "zoe", RoleAdmin, "password-x1", fast, now); !errors.Is(err, ErrUserExists) {
			t.Errorf("duplicate: %v", err)
		}
		if has, err := HasUsers(ctx, st); err != nil || !has {
			t.Fatalf("HasUsers: %v, %v", has, err)
		}
		us, err := ListUsers(ctx, st)
		if err != nil || len(us) != 2 || us[0].Name != "adam" || us[0].Role != RoleAdmin || us[1].Name != "zoe" || !us[1].CreatedAt.Equal(now) {
			t.Fatalf("ListUsers: %+v, %v", us, err)
		}
		// hashes are salted per user: the same password stores differently
		if err := SetPassword(ctx, st, "adam", "password-zoe", fast, now); err != nil {
			t.Fatal(err)
		}
		_, ha, _ := lookupHash(ctx, st, "adam")
		_, hz, _ := lookupHash(ctx, st, "zoe")
		if ha == hz {
			t.Error("two users with one password have the same hash")
		}
		if ok, err := VerifyPassword("password-zoe", ha); !ok || err != nil {
			t.Errorf("adam's new password: %v %v", ok, err)
		}
		// sessions: created, read with the role of the moment, expired
		tok, err := createSession(ctx, st, "zoe", "127.0.0.1", now)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := parseToken(tok)
		s, err := loadSession(ctx, st, raw, now.Add(time.Minute), time.Hour, 2*time.Hour)
		if err != nil || s == nil || s.user.Name != "zoe" || s.user.Role != RoleViewer {
			t.Fatalf("loadSession: %+v, %v", s, err)
		}
		if err := SetRole(ctx, st, "zoe", RoleOperator, now); err != nil {
			t.Fatal(err)
		}
		if s, _ := loadSession(ctx, st, raw, now.Add(2*time.Minute), time.Hour, 2*time.Hour); s == nil || s.user.Role != RoleOperator {
			t.Errorf("role change not seen by the session: %+v", s)
		}
		if s, err := loadSession(ctx, st, raw, now.Add(2*time.Minute+time.Hour), time.Hour, 2*time.Hour); s != nil || err != nil {
			t.Errorf("idle session still open: %+v %v", s, err)
		}
		tok2, _ := createSession(ctx, st, "zoe", "127.0.0.1", now)
		raw2, _ := parseToken(tok2)
		if err := SetPassword(ctx, st, "zoe", "password-new", fast, now); err != nil {
			t.Fatal(err)
		}
		if s, _ := loadSession(ctx, st, raw2, now, time.Hour, 2*time.Hour); s != nil {
			t.Error("a password change left the user's session open")
		}
		tok3, _ := createSession(ctx, st, "zoe", "127.0.0.1", now)
		raw3, _ := parseToken(tok3)
		if err := RemoveUser(ctx, st, "zoe"); err != nil {
			t.Fatal(err)
		}
		if s, _ := loadSession(ctx, st, raw3, now, time.Hour, 2*time.Hour); s != nil {
			t.Error("a removed user's session is open")
		}
		for _, err := range []error{RemoveUser(ctx, st, "zoe"), SetRole(ctx, st, "zoe", RoleAdmin, now), SetPassword(ctx, st, "zoe", "password-x1", fast, now)} {
			if !errors.Is(err, ErrNoUser) {
				t.Errorf("change of a missing user: %v, want ErrNoUser", err)
			}
		}
		// prune: expired sessions and old attempts go, live ones stay
		live, _ := createSession(ctx, st, "adam", "127.0.0.1", now)
		old, _ := createSession(ctx, st, "adam", "127.0.0.1", now.Add(-3*time.Hour))
		if err := PruneSessions(ctx, st, now, time.Hour, 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM console_sessions`).Scan(&n); err != nil || n != 1 {
			t.Errorf("sessions after prune: %d, %v (want only the live one)", n, err)
		}
		rl, _ := parseToken(live)
		ro, _ := parseToken(old)
		if s, _ := loadSession(ctx, st, rl, now, time.Hour, 2*time.Hour); s == nil {
			t.Error("prune ended a live session")
		}
		if s, _ := loadSession(ctx, st, ro, now, time.Hour, 2*time.Hour); s != nil {
			t.Error("an old session survived")
		}
		// audit: written, filtered, keyset-paged newest first
		for i := range 7 {
			who := []string{"adam", "zoe"}[i%2]
			if err := WriteAudit(ctx, st, AuditEntry{At: now.Add(time.Duration(i) * time.Second), User: who, Remote: "10.0.0.1", Action: "test.act", Target: fmt.Sprintf("job %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		page1, err := ListAudit(ctx, st, AuditFilter{Limit: 3})
		if err != nil || len(page1) != 3 || page1[0].Target != "job 6" || page1[2].Target != "job 4" {
			t.Fatalf("audit page 1: %+v, %v", page1, err)
		}
		page2, _ := ListAudit(ctx, st, AuditFilter{Limit: 3, Before: page1[2].ID})
		if len(page2) != 3 || page2[0].Target != "job 3" {
			t.Fatalf("audit page 2: %+v", page2)
		}
		adams, _ := ListAudit(ctx, st, AuditFilter{User: "adam", Action: "test.act"})
		if len(adams) != 4 || !adams[0].At.Equal(now.Add(6*time.Second)) || adams[0].Remote != "10.0.0.1" {
			t.Errorf("adam's audit rows: %+v", adams)
		}
		// login attempts: counted per user and per remote within the window
		s2 := &Server{opts: Options{Store: st, Now: func() time.Time { return now }, LoginLimitUser: 2, LoginLimitRemote: 3}}
		for _, a := range []struct{ user, remote string }{{"adam", "10.0.0.1"}, {"bob", "10.0.0.2"}} {
			if err := s2.recordFailure(ctx, a.user, a.remote); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			user, remote string
			limited      bool
		}{{"adam", "10.0.0.9", false}, {"bob", "10.0.0.1", false}} {
			if got, err := s2.loginLimited(ctx, c.user, c.remote); err != nil || got != c.limited {
				t.Errorf("limited(%s, %s) = %v, %v", c.user, c.remote, got, err)
			}
		}
		_ = s2.recordFailure(ctx, "adam", "10.0.0.3")
		_ = s2.recordFailure(ctx, "carl", "10.0.0.2")
		_ = s2.recordFailure(ctx, "dora", "10.0.0.2")
		for _, c := range []struct {
			user, remote string
			limited      bool
		}{{"adam", "10.0.0.9", true}, {"eve", "10.0.0.2", true}, {"eve", "10.0.0.1", false}} {
			if got, err := s2.loginLimited(ctx, c.user, c.remote); err != nil || got != c.limited {
				t.Errorf("limited(%s, %s) = %v, %v; want %v", c.user, c.remote, got, err, c.limited)
			}
		}
		s2.opts.Now = func() time.Time { return now.Add(loginWindow + time.Second) }
		if got, _ := s2.loginLimited(ctx, "adam", "10.0.0.2"); got {
			t.Error("the limit outlived its window")
		}
		if err := s2.clearFailures(ctx, "adam"); err != nil {
			t.Fatal(err)
		}
	})
}
