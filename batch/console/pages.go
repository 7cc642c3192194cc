package console

import (
	"errors"
	"net/http"
	"strconv"
)

// The console's own pages: the audit log and the users (both admin).
func init() {
	RegisterPage(Page{Name: "audit", Title: "Audit", Order: 900, Role: RoleAdmin, Mount: mountAudit})
	RegisterPage(Page{Name: "users", Title: "Users", Order: 910, Role: RoleAdmin, Mount: mountUsers})
}

// auditPage is the audit page's data.
type auditPage struct {
	Entries      []AuditEntry
	User, Action string
	Next         int64
}

func mountAudit(m *Mux, d *Deps) {
	m.HandleFunc("GET /console/audit", RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := AuditFilter{User: truncate(q.Get("user"), 64), Action: truncate(q.Get("action"), maxAction), Limit: 100}
		if b := q.Get("before"); b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 1 {
				Fail(w, r, http.StatusBadRequest, "The parameter before must be a positive row id.")
				return
			}
			f.Before = n
		}
		entries, err := ListAudit(r.Context(), d.Store, f)
		if err != nil {
			m.s.internal(w, r, "listing the audit log", err)
			return
		}
		p := auditPage{Entries: entries, User: f.User, Action: f.Action}
		if len(entries) == f.Limit {
			p.Next = entries[len(entries)-1].ID
		}
		Render(w, r, m.s.own, "audit", p)
	})
}

// usersPage is the users page's data.
type usersPage struct {
	Users []UserInfo
	Roles []Role
	Error string
	Done  string
}

func mountUsers(m *Mux, d *Deps) {
	s := m.s
	show := func(w http.ResponseWriter, r *http.Request, status int, msg, done string) {
		users, err := ListUsers(r.Context(), d.Store)
		if err != nil {
			s.internal(w, r, "listing users", err)
			return
		}
		renderStatus(w, r, status, s.own, "users", usersPage{Users: users, Roles: Roles(), Error: msg, Done: done})
	}
	m.HandleFunc("GET /console/users", RoleAdmin, func(w http.ResponseWriter, r *http.Request) { show(w, r, http.StatusOK, "", "") })
	// fail answers a refused change: a user error as 400 on the page, a
	// store failure as 500.
	fail := func(w http.ResponseWriter, r *http.Request, err error, user bool) {
		if user || errors.Is(err, ErrNoUser) || errors.Is(err, ErrUserExists) {
			show(w, r, http.StatusBadRequest, err.Error(), "")
			return
		}
		s.internal(w, r, "changing a user", err)
	}
	m.HandleFunc("POST /console/users", RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		name, pw := r.PostFormValue("name"), r.PostFormValue("password")
		role, err := ParseRole(r.PostFormValue("role"))
		if err == nil {
			err = CheckUserName(name)
		}
		if err == nil {
			err = CheckPassword(pw)
		}
		if err != nil {
			fail(w, r, err, true)
			return
		}
		if err := AddUser(r.Context(), d.Store, name, role, pw, s.opts.Params, d.Now()); err != nil {
			fail(w, r, err, false)
			return
		}
		if err := Audit(r, "user.add", name+" as "+role.String()); err != nil {
			s.internal(w, r, "writing the audit log", err)
			return
		}
		show(w, r, http.StatusOK, "", "Added "+name+".")
	})
	m.HandleFunc("POST /console/users/{name}/role", RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		role, err := ParseRole(r.PostFormValue("role"))
		if err != nil {
			fail(w, r, err, true)
			return
		}
		if name == UserOf(r).Name && role != RoleAdmin {
			fail(w, r, errors.New("you cannot lower your own role (another admin can)"), true)
			return
		}
		if err := SetRole(r.Context(), d.Store, name, role, d.Now()); err != nil {
			fail(w, r, err, false)
			return
		}
		if err := Audit(r, "user.role", name+" to "+role.String()); err != nil {
			s.internal(w, r, "writing the audit log", err)
			return
		}
		show(w, r, http.StatusOK, "", "Changed the role of "+name+".")
	})
	m.HandleFunc("POST /console/users/{name}/password", RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		name, pw := r.PathValue("name"), r.PostFormValue("password")
		if err := CheckPassword(pw); err != nil {
			fail(w, r, err, true)
			return
		}
		if err := SetPassword(r.Context(), d.Store, name, pw, s.opts.Params, d.Now()); err != nil {
			fail(w, r, err, false)
			return
		}
		if err := Audit(r, "user.passwd", name); err != nil {
			s.internal(w, r, "writing the audit log", err)
			return
		}
		show(w, r, http.StatusOK, "", "Set the password of "+name+"; the user's sessions ended.")
	})
	m.HandleFunc("POST /console/users/{name}/remove", RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if name == UserOf(r).Name {
			fail(w, r, errors.New("you cannot remove yourself (another admin can)"), true)
			return
		}
		if err := RemoveUser(r.Context(), d.Store, name); err != nil {
			fail(w, r, err, false)
			return
		}
		if err := Audit(r, "user.remove", name); err != nil {
			s.internal(w, r, "writing the audit log", err)
			return
		}
		show(w, r, http.StatusOK, "", "Removed "+name+".")
	})
}
