package console

import "fmt"

// Role is what a console user may do; each role includes the ones below
// it: viewer < operator < analyst < admin.
type Role int

// The roles, least first.
const (
	// RoleViewer reads the console's pages without patient data.
	RoleViewer Role = iota + 1
	// RoleOperator also acts on deliveries and jobs: retry, cancel, run now.
	RoleOperator
	// RoleAnalyst also sees patient data (each view audited) and uses the
	// mapping workbench.
	RoleAnalyst
	// RoleAdmin also manages the console's users and reads the audit log.
	RoleAdmin
)

var roleNames = map[Role]string{RoleViewer: "viewer", RoleOperator: "operator", RoleAnalyst: "analyst", RoleAdmin: "admin"}

// Roles lists the roles, least first.
func Roles() []Role { return []Role{RoleViewer, RoleOperator, RoleAnalyst, RoleAdmin} }

// String is the role's name as stored and typed: viewer, operator,
// analyst, admin.
func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want viewer, operator, analyst or admin", truncate(s, 32))
}

// truncate bounds a value echoed in an error.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
