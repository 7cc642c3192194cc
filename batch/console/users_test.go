package console_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
)

func TestUsersPage(t *testing.T) {
	e := consoletest.NewServer(t)
	steps := []struct {
		name   string
		path   string
		form   url.Values
		status int
		body   string
	}{
		{"add", "/console/users", url.Values{"name": {"nina"}, "role": {"analyst"}, "password": {"nina-password"}}, 200, "Added nina."},
		{"add duplicate", "/console/users", url.Values{"name": {"nina"}, "role": {"viewer"}, "password": {"nina-password"}}, 400, "already exists"},
		{"add bad role", "/console/users", url.Values{"name": {"otto"}, "role": {"root"}, "password": {"otto-password"}}, 400, "want viewer, operator, analyst or admin"},
		{"add bad name", "/console/users", url.Values{"name": {"otto <b>"}, "role": {"viewer"}, "password": {"otto-password"}}, 400, "user name"},
		{"add short password", "/console/users", url.Values{"name": {"otto"}, "role": {"viewer"}, "password": {"short"}}, 400, "too short"},
		{"role", "/console/users/nina/role", url.Values{"role": {"operator"}}, 200, "Changed the role of nina."},
		{"role of nobody", "/console/users/nobody/role", url.Values{"role": {"operator"}}, 400, "no such console user"},
		{"lower own role", "/console/users/admin/role", url.Values{"role": {"viewer"}}, 400, "cannot lower your own role"},
		{"password", "/console/users/nina/password", url.Values{"password": {"nina-password-2"}}, 200, "Set the password of nina"},
		{"remove self", "/console/users/admin/remove", nil, 400, "cannot remove yourself"},
	}
	for _, s := range steps {
		status, body := e.PostForm(t, console.RoleAdmin, s.path, s.form)
		if status != s.status || !strings.Contains(body, s.body) {
			t.Fatalf("%s: %d, want %d with %q\n%s", s.name, status, s.status, s.body, body)
		}
		if strings.Contains(body, "nina-password") || strings.Contains(body, "<b>") {
			t.Fatalf("%s: the page echoes a password or unescaped input", s.name)
		}
	}
	if _, err := consoletest.Login(e.URL, "nina", "nina-password"); err == nil {
		t.Error("nina's old password still works")
	}
	nina, err := consoletest.Login(e.URL, "nina", "nina-password-2")
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, nina, e.URL+"/console/testpage/phi"); status != 403 {
		t.Errorf("nina as operator opens an analyst page: %d", status)
	}
	// removing ends nina's session at once
	if status, _ := e.PostForm(t, console.RoleAdmin, "/console/users/nina/remove", nil); status != 200 {
		t.Fatalf("remove: %d", status)
	}
	if status, _ := get(t, nina, e.URL+"/console/testpage"); status != 303 {
		t.Errorf("removed user's session: %d, want 303 to login", status)
	}
	// the other roles cannot change users, even with a valid CSRF token
	for _, r := range []console.Role{console.RoleViewer, console.RoleOperator, console.RoleAnalyst} {
		if status, _ := e.PostForm(t, r, "/console/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"mallory-pass"}}); status != 403 {
			t.Errorf("%s adds a user: %d, want 403", r, status)
		}
	}
	us, err := console.ListUsers(t.Context(), e.Store)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Name == "mallory" || u.Name == "nina" {
			t.Errorf("user %s exists", u.Name)
		}
	}
	// every change is audited, and the audit page shows it
	rows := auditActions(t, e)
	for _, want := range []string{"admin user.add nina as analyst", "admin user.role nina to operator", "admin user.passwd nina", "admin user.remove nina", "nina login role operator"} {
		if !hasAudit(rows, want) {
			t.Errorf("audit lacks %q", want)
		}
	}
	status, body := e.Get(t, console.RoleAdmin, "/console/audit?user=admin&action=user.remove")
	if status != 200 || !strings.Contains(body, "user.remove") || strings.Contains(body, "user.add") {
		t.Errorf("audit page filtered: %d\n%s", status, body)
	}
	status, body = e.Get(t, console.RoleAdmin, "/console/users")
	if status != 200 || !strings.Contains(body, `name="csrf"`) || !strings.Contains(body, "analyst") {
		t.Errorf("users page: %d", status)
	}
}
