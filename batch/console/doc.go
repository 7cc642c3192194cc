// Package console is the operator's web console served by serve under
// /console/: its web foundation (sessions, users, roles, CSRF, security
// headers, the layout, the audit log) and the pages that other packages
// register with RegisterPage.
//
// Every console response carries a strict Content-Security-Policy
// (default-src 'self', no inline script), Cache-Control: no-store and
// X-Frame-Options: DENY. A page's routes are registered on a Mux, which
// puts each behind the session check (server-side sessions in the store,
// idle and absolute timeouts), the role check (viewer < operator <
// analyst < admin) and, for methods that change things, the CSRF check.
// Users are local (argon2id hashes) and managed with `fhirbridge console
// user` or the users page; every action and every view of patient data is
// written to the audit log, whose free text holds our ids only.
//
// A page package registers from init:
//
//	func init() {
//		console.RegisterPage(console.Page{Name: "deliveries", Title: "Deliveries", Order: 20,
//			Role: console.RoleViewer, Mount: mount})
//	}
//
//	func mount(m *console.Mux, d *console.Deps) {
//		m.HandleFunc("GET /console/deliveries", console.RoleViewer, list(d))
//		m.HandleFunc("POST /console/deliveries/retry", console.RoleOperator, retry(d))
//	}
package console
