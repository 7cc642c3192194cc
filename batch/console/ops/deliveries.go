package ops

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

// pageSize is the Deliveries list's page.
const pageSize = 50

// filterForm is the Deliveries filter as the form holds it.
type filterForm struct {
	Vendor, Flow, State, Since, Until string
}

// values writes f as query parameters (empty ones left out).
func (f filterForm) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"vendor": f.Vendor, "flow": f.Flow, "state": f.State, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// readFilter reads the filter of r's query (and form), checking every
// field; msg (for a 400) names the field, never its value.
func readFilter(r *http.Request, vend map[string][]string) (f filterForm, q delivery.Query, msg string) {
	f = filterForm{Vendor: r.FormValue("vendor"), Flow: r.FormValue("flow"), State: r.FormValue("state"),
		Since: r.FormValue("since"), Until: r.FormValue("until")}
	if !validName(f.Vendor) || !validName(f.Flow) {
		return f, q, "The vendor or flow filter is not a name."
	}
	if f.Vendor != "" {
		flows, ok := vend[f.Vendor]
		if !ok {
			return f, q, "The vendor filter names no configured vendor."
		}
		q.Flows = flows
		if f.Flow != "" {
			if !slices.Contains(flows, f.Flow) {
				return f, q, "The flow filter is not one of the vendor's flows."
			}
			q.Flows = []string{f.Flow}
		}
		if len(q.Flows) == 0 {
			q.Flows = []string{""} // a vendor without flows selects nothing
		}
	} else if f.Flow != "" {
		q.Flows = []string{f.Flow}
	}
	if f.State != "" {
		if !slices.Contains(states, delivery.State(f.State)) {
			return f, q, "The state filter must be one of pending, in_flight, dlq, delivered, discarded."
		}
		q.State = delivery.State(f.State)
	}
	var err error
	if q.Since, err = parseTime(f.Since); err != nil {
		return f, q, "The since filter must be a time written 2006-01-02T15:04 (UTC)."
	}
	if q.Until, err = parseTime(f.Until); err != nil {
		return f, q, "The until filter must be a time written 2006-01-02T15:04 (UTC)."
	}
	return f, q, ""
}

// deliveriesPage is the Deliveries list's data.
type deliveriesPage struct {
	Filter   filterForm
	Vendors  []string
	States   []delivery.State
	Jobs     []delivery.JobInfo
	NextURL  string
	Operator bool
	// BulkURL is the confirmation page of a bulk retry of the filter's
	// dead letters.
	BulkURL string
	// Done says what an action just did ("" none).
	Done string
}

// confirmPage is the bulk retry's confirmation.
type confirmPage struct {
	Filter   filterForm
	Hidden   map[string]string
	Count    int
	MaxID    int64
	Describe string
	BackURL  string
}

// jobPage is one job.
type jobPage struct {
	Job      delivery.JobInfo
	Vendor   string
	Operator bool
	Done     string
	Now      time.Time
}

func mountDeliveries(m *console.Mux, d *console.Deps) {
	q := func() *delivery.Queue { return delivery.NewQueue(d.Store) }
	m.HandleFunc("GET /console/deliveries", console.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		vend := vendors(r.Context(), d)
		f, query, msg := readFilter(r, vend)
		if msg != "" {
			badRequest(w, r, msg)
			return
		}
		if b := r.FormValue("before"); b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 1 {
				badRequest(w, r, "The parameter before must be a positive job id.")
				return
			}
			query.Before = n
		}
		query.Limit = pageSize
		jobs, next, err := q().Page(r.Context(), query)
		if err != nil {
			internal(w, r, d, "listing delivery jobs", err)
			return
		}
		p := deliveriesPage{Filter: f, Vendors: sortedKeys(vend), States: states, Jobs: jobs,
			Operator: console.UserOf(r).Can(console.RoleOperator), Done: doneMessage(r)}
		if next > 0 {
			v := f.values()
			v.Set("before", strconv.FormatInt(next, 10))
			p.NextURL = "/console/deliveries?" + v.Encode()
		}
		p.BulkURL = "/console/deliveries/retry-dead?" + f.values().Encode()
		console.Render(w, r, tmpl, "deliveries", p)
	})
	m.HandleFunc("GET /console/deliveries/{id}", console.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(r)
		if !ok {
			badRequest(w, r, "The job id must be a positive number.")
			return
		}
		j, err := q().Show(r.Context(), id)
		if errors.Is(err, delivery.ErrNotFound) {
			console.Fail(w, r, http.StatusNotFound, "No such delivery job.")
			return
		}
		if err != nil {
			internal(w, r, d, "reading a delivery job", err)
			return
		}
		j.Data = nil // a worker job's data is the vendor's event: not shown
		console.Render(w, r, tmpl, "job", jobPage{Job: j, Vendor: vendorOf(vendors(r.Context(), d))[j.Flow],
			Operator: console.UserOf(r).Can(console.RoleOperator), Done: doneMessage(r), Now: d.Now()})
	})
	one := func(action string, do func(*delivery.Queue, *http.Request, int64) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, ok := pathID(r)
			if !ok {
				badRequest(w, r, "The job id must be a positive number.")
				return
			}
			err := do(q(), r, id)
			switch {
			case errors.Is(err, delivery.ErrNotFound):
				console.Fail(w, r, http.StatusNotFound, "No such delivery job.")
				return
			case errors.Is(err, delivery.ErrState):
				console.Fail(w, r, http.StatusConflict, "The job's state does not allow this (a delivered job, or one a worker holds).")
				return
			case err != nil:
				internal(w, r, d, "changing a delivery job", err)
				return
			}
			if err := console.Audit(r, "delivery."+action, fmt.Sprintf("job %d", id)); err != nil {
				internal(w, r, d, "writing the audit log", err)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/console/deliveries/%d?done=%s", id, action), http.StatusSeeOther)
		}
	}
	m.HandleFunc("POST /console/deliveries/{id}/retry", console.RoleOperator, one("retry", func(q *delivery.Queue, r *http.Request, id int64) error {
		return q.Retry(r.Context(), id)
	}))
	m.HandleFunc("POST /console/deliveries/{id}/discard", console.RoleOperator, one("discard", func(q *delivery.Queue, r *http.Request, id int64) error {
		return q.Discard(r.Context(), id)
	}))
	m.HandleFunc("GET /console/deliveries/retry-dead", console.RoleOperator, func(w http.ResponseWriter, r *http.Request) {
		f, query, msg := readFilter(r, vendors(r.Context(), d))
		if msg != "" {
			badRequest(w, r, msg)
			return
		}
		sel, err := q().CountDead(r.Context(), query)
		if err != nil {
			internal(w, r, d, "counting dead letters", err)
			return
		}
		f.State = string(delivery.StateDeadLetter)
		hidden := map[string]string{}
		for k, v := range f.values() {
			hidden[k] = v[0]
		}
		console.Render(w, r, tmpl, "confirm", confirmPage{Filter: f, Hidden: hidden, Count: sel.Count, MaxID: sel.MaxID,
			Describe: describe(f), BackURL: "/console/deliveries?" + f.values().Encode()})
	})
	m.HandleFunc("POST /console/deliveries/retry-dead", console.RoleOperator, func(w http.ResponseWriter, r *http.Request) {
		f, query, msg := readFilter(r, vendors(r.Context(), d))
		if msg != "" {
			badRequest(w, r, msg)
			return
		}
		maxID, err1 := strconv.ParseInt(r.FormValue("max"), 10, 64)
		confirmed, err2 := strconv.Atoi(r.FormValue("count"))
		if err1 != nil || err2 != nil || maxID < 1 || confirmed < 1 {
			badRequest(w, r, "The confirmation's count and bound are missing: open the confirmation page again.")
			return
		}
		n, err := q().RetryDead(r.Context(), query, maxID)
		if err != nil {
			internal(w, r, d, "retrying dead letters", err)
			return
		}
		target := fmt.Sprintf("dead letters of flows %s, %s: confirmed %d, retried %d (ids up to %d)",
			joinFlows(query.Flows), timeSpan(f), confirmed, n, maxID)
		if err := console.Audit(r, "delivery.retry_dead", target); err != nil {
			internal(w, r, d, "writing the audit log", err)
			return
		}
		v := f.values()
		v.Del("state")
		v.Set("done", "retried")
		v.Set("n", strconv.Itoa(n))
		http.Redirect(w, r, "/console/deliveries?"+v.Encode(), http.StatusSeeOther)
	})
}

// doneMessage is the notice after an action (from its fixed set; the
// count is read as a number).
func doneMessage(r *http.Request) string {
	switch r.FormValue("done") {
	case "retry":
		return "The job is queued to run now."
	case "discard":
		return "The job is discarded: it will not be delivered."
	case "retried":
		n, err := strconv.Atoi(r.FormValue("n"))
		if err != nil || n < 0 {
			return ""
		}
		return fmt.Sprintf("%d dead letters queued to run now.", n)
	}
	return ""
}

// describe writes a filter for the confirmation page.
func describe(f filterForm) string {
	s := "every vendor and flow"
	switch {
	case f.Flow != "":
		s = "flow " + f.Flow
	case f.Vendor != "":
		s = "vendor " + f.Vendor
	}
	return s + ", " + timeSpan(f)
}

// timeSpan writes the filter's window of last changes.
func timeSpan(f filterForm) string {
	switch {
	case f.Since != "" && f.Until != "":
		return "last changed from " + f.Since + " to " + f.Until + " UTC"
	case f.Since != "":
		return "last changed from " + f.Since + " UTC"
	case f.Until != "":
		return "last changed before " + f.Until + " UTC"
	}
	return "any time"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
