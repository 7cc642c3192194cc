package console_test

import (
	"embed"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
)

// The test page: a viewer route, an operator action that records that it
// ran, and an analyst PHI view.
var opsRan atomic.Int64

func init() {
	console.RegisterPage(console.Page{Name: "testpage", Title: "Test page", Order: 1, Role: console.RoleViewer,
		Mount: func(m *console.Mux, d *console.Deps) {
			t, err := console.ParseTemplates(testTemplates, "testdata/*.html")
			if err != nil {
				panic(err)
			}
			m.HandleFunc("GET /console/testpage", console.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
				console.Render(w, r, t, "testpage", console.UserOf(r).Name)
			})
			m.HandleFunc("POST /console/testpage/act", console.RoleOperator, func(w http.ResponseWriter, r *http.Request) {
				opsRan.Add(1)
				if err := console.Audit(r, "test.act", "job 7"); err != nil {
					console.Fail(w, r, http.StatusInternalServerError, "audit failed")
					return
				}
				http.Redirect(w, r, "/console/testpage", http.StatusSeeOther)
			})
			m.HandleFunc("GET /console/testpage/phi", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
				if err := console.AuditPHIView(r, "message 1 as received"); err != nil {
					console.Fail(w, r, http.StatusInternalServerError, "audit failed")
					return
				}
				console.Render(w, r, t, "testpage", "phi")
			})
		}})
}

func TestRoleGating(t *testing.T) {
	e := consoletest.NewServer(t)
	tests := []struct {
		role   console.Role
		path   string
		status int
	}{
		{console.RoleViewer, "/console/testpage", 200},
		{console.RoleViewer, "/console/testpage/phi", 403},
		{console.RoleOperator, "/console/testpage/phi", 403},
		{console.RoleAnalyst, "/console/testpage/phi", 200},
		{console.RoleViewer, "/console/audit", 403},
		{console.RoleAnalyst, "/console/users", 403},
		{console.RoleAdmin, "/console/users", 200},
		{console.RoleAdmin, "/console/audit", 200},
	}
	for _, tt := range tests {
		t.Run(tt.role.String()+tt.path, func(t *testing.T) {
			if got, _ := e.Get(t, tt.role, tt.path); got != tt.status {
				t.Errorf("GET %s as %s: %d, want %d", tt.path, tt.role, got, tt.status)
			}
		})
	}
	if rows := auditActions(t, e); !hasAudit(rows, "analyst phi.view message 1 as received") || hasAudit(rows, "operator phi.view message 1 as received") {
		t.Errorf("PHI views audited: %q", rows)
	}
	before := opsRan.Load()
	if got, _ := e.PostForm(t, console.RoleViewer, "/console/testpage/act", nil); got != 403 {
		t.Errorf("viewer POST operator action: %d, want 403", got)
	}
	if opsRan.Load() != before {
		t.Error("the operator action ran for a viewer")
	}
	if got, _ := e.PostForm(t, console.RoleOperator, "/console/testpage/act", nil); got != 303 || opsRan.Load() != before+1 {
		t.Errorf("operator POST: %d, ran %d times; want 303 and once", got, opsRan.Load()-before)
	}
}

//go:embed testdata/*.html
var testTemplates embed.FS
