package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestConsoleUserCLI adds, lists, changes and removes a console user with
// the password on standard input, then logs in with it through the real
// login form, and checks each change is in the audit log.
func TestConsoleUserCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, stdin string
		args        []string
		code        int
		out, err    string
	}{
		{"add", "s3cret-pass\n", []string{"add", "alice", "--role", "admin"}, 0, "added console user alice (admin)", ""},
		{"add duplicate", "s3cret-pass\n", []string{"add", "alice", "--role", "viewer"}, 2, "", "already exists"},
		{"password on argv refused", "", []string{"add", "bob", "s3cret-pass", "--role", "viewer"}, 2, "", "accepts 1 arg"},
		{"no password", "", []string{"add", "bob", "--role", "viewer"}, 2, "", "no password"},
		{"short password", "short\n", []string{"add", "bob", "--role", "viewer"}, 2, "", "password too short"},
		{"bad role", "s3cret-pass\n", []string{"add", "bob", "--role", "root"}, 2, "", `role "root": want viewer, operator, analyst or admin`},
		{"bad name", "s3cret-pass\n", []string{"add", "bob smith", "--role", "viewer"}, 2, "", "user name"},
		{"add bob", "other-pass-1\r\n", []string{"add", "bob", "--role", "viewer"}, 0, "added console user bob (viewer)", ""},
		{"role", "", []string{"role", "bob", "operator"}, 0, "console user bob is now operator", ""},
		{"passwd", "new-pass-22\n", []string{"passwd", "bob"}, 0, "set the password of console user bob", ""},
		{"passwd unknown", "new-pass-22\n", []string{"passwd", "carol"}, 2, "", "no such console user"},
		{"list", "", []string{"list"}, 0, "bob    operator", ""},
	}
	for _, s := range steps {
		out, errOut, code := run(t, s.stdin, append(append([]string{"console", "user"}, s.args...), "--config", cfg)...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Fatalf("%s: code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q", s.name, code, out, errOut, s.code, s.out, s.err)
		}
		if strings.Contains(out+errOut, "pass") && (strings.Contains(out+errOut, "s3cret") || strings.Contains(out+errOut, "new-pass")) {
			t.Fatalf("%s: a password was printed", s.name)
		}
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "data", "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := console.New(console.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	if _, err := consoletest.Login(hs.URL, "bob", "new-pass-22"); err != nil {
		t.Errorf("bob's new password: %v", err)
	}
	if _, err := consoletest.Login(hs.URL, "bob", "other-pass-1"); err == nil {
		t.Error("bob's old password still logs in")
	}
	if _, err := consoletest.Login(hs.URL, "alice", "s3cret-pass"); err != nil {
		t.Errorf("alice: %v", err)
	}
	if _, _, code := run(t, "", "console", "user", "remove", "bob", "--config", cfg); code != 0 {
		t.Fatal("remove bob failed")
	}
	out, _, _ := run(t, "", "console", "user", "list", "--config", cfg)
	if strings.Contains(out, "bob") || !strings.Contains(out, "alice") {
		t.Errorf("list after remove:\n%s", out)
	}
	rows, err := console.ListAudit(context.Background(), st, console.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range rows {
		if r.Remote == "cli" {
			actions = append(actions, r.Action+" "+r.Target)
		}
	}
	want := "user.remove bob|user.passwd bob|user.role bob to operator|user.add bob as viewer|user.add alice as admin"
	if got := strings.Join(actions, "|"); got != want {
		t.Errorf("CLI audit rows:\n%s\nwant\n%s", got, want)
	}
}

// TestCheckKnowsConsole: check prints the console's state and refuses a
// console.listen serve could not bind, naming the key.
func TestCheckKnowsConsole(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, src string
		code      int
		want      string
	}{
		{"default", "server: {listen: '127.0.0.1:0'}\n", 0, "console auto: on once a console user exists (fhirbridge console user list) at /console/ on 127.0.0.1:0, sessions idle 30m0s, absolute 12h0m0s"},
		{"off", "server: {listen: '127.0.0.1:0'}\nconsole: {enabled: false}\n", 0, "console OFF (console.enabled: false)"},
		{"own listener", "server: {listen: '127.0.0.1:0'}\nconsole: {enabled: true, listen: '127.0.0.1:0'}\n", 0, "console on at /console/ on 127.0.0.1:0"},
		{"unbindable listener", "server: {listen: '127.0.0.1:0'}\nconsole: {listen: '192.0.2.1:8443'}\n", 1, "console.listen 192.0.2.1:8443: serve could not listen"},
		{"bad enabled", "console: {enabled: maybe}\n", 1, `console.enabled "maybe": want auto, true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := run(t, "", "check", "--config", writeConfig(t, dir, "data_dir: "+filepath.Join(dir, "data")+"\n"+tt.src))
			if code != tt.code || !strings.Contains(out+stderr, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out, stderr)
			}
		})
	}
}
