package ops

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

//go:embed templates/*.html
var templateFS embed.FS

// tmpl holds the pages' templates.
var tmpl = template.Must(template.New("").Funcs(console.Funcs()).Funcs(template.FuncMap{
	"age":   age,
	"when":  when,
	"bytes": humanBytes,
}).ParseFS(templateFS, "templates/*.html"))

func init() {
	console.RegisterPage(console.Page{Name: "dashboard", Title: "Dashboard", Order: 100, Role: console.RoleViewer, Mount: mountDashboard})
	console.RegisterPage(console.Page{Name: "deliveries", Title: "Deliveries", Order: 300, Role: console.RoleViewer, Mount: mountDeliveries})
	console.RegisterPage(console.Page{Name: "files", Title: "Exports and files", Order: 400, Role: console.RoleViewer, Mount: mountFiles})
}

// vendors maps each vendor to its flows: the runner's when serve gave one,
// else the configured routes' connectors (plus the EHR write-back flow).
func vendors(ctx context.Context, d *console.Deps) map[string][]string {
	out := map[string][]string{}
	if d.Ops.Runner != nil {
		if cs, err := d.Ops.Runner.Circuits(ctx); err == nil {
			for _, c := range cs {
				out[c.Vendor] = c.Flows
			}
			return out
		}
	}
	for _, r := range d.Config.Routes {
		out[r.Connector] = append(out[r.Connector], r.Name)
	}
	for _, fs := range out {
		slices.Sort(fs)
	}
	return out
}

// vendorOf inverts vendors: flow → vendor.
func vendorOf(v map[string][]string) map[string]string {
	out := map[string]string{}
	for vendor, flows := range v {
		for _, f := range flows {
			out[f] = vendor
		}
	}
	return out
}

// badRequest answers 400 with a fixed message naming the parameter,
// never its value.
func badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	console.Fail(w, r, http.StatusBadRequest, msg)
}

// internal logs err (it names no patient data) and answers 500.
func internal(w http.ResponseWriter, r *http.Request, d *console.Deps, what string, err error) {
	d.Logger.Error("console: "+what, "error", err.Error())
	console.Fail(w, r, http.StatusInternalServerError, "The console failed while "+what+".")
}

// pathID reads the {id} path value as a positive id.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// timeLayout is how filters write times: the value of an HTML
// datetime-local input, read as UTC.
const timeLayout = "2006-01-02T15:04"

// parseTime reads a filter time ("" is zero).
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) > 32 {
		return time.Time{}, fmt.Errorf("too long")
	}
	return time.ParseInLocation(timeLayout, s, time.UTC)
}

// name bounds: flow, vendor and job names are short config names.
const maxName = 100

// validName accepts a config name as a filter value: printable, short.
func validName(s string) bool {
	if len(s) > maxName {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// age writes a duration since t at now in whole units ("—" for zero t).
func age(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// when writes t in UTC to the minute ("—" for zero t).
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// humanBytes writes n bytes with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// states are the job states a filter may name.
var states = []delivery.State{delivery.StatePending, delivery.StateInFlight, delivery.StateDeadLetter, delivery.StateDelivered, delivery.StateDiscarded}

// joinFlows writes flows for the audit log's target.
func joinFlows(flows []string) string {
	if len(flows) == 0 {
		return "all"
	}
	return strings.Join(flows, ",")
}
