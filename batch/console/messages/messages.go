// Package messages is the console's Messages page: the message log (every
// received Bundle and HL7 v2 message, every delivery attempt), searched by
// identifier, resource id, vendor id, time range, status, source and
// direction, newest first and paged by keyset; and one message's stages:
// as received (the resource versions it stored), validated, each route's
// mapped output and delivery attempts with the vendor's answer and
// timing, and the ids vendors gave back.
//
// Viewers see types, our ids, statuses, codes and timings. Patient data
// (bodies; searching by an identifier value) is for analysts only, on a
// separate view that writes a console.AuditPHIView row each time.
package messages

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(console.ParseTemplates(templateFS, "templates/*.html"))

func init() {
	console.RegisterPage(console.Page{Name: "messages", Title: "Messages", Order: 200, Role: console.RoleViewer, Mount: mount})
}

// Bounds of the page's inputs.
const (
	maxParam   = 256 // bytes of any one filter
	pageSize   = 50
	maxRelated = 100 // delivery attempts shown per resource
	maxBody    = 64 << 10
	timeLayout = "2006-01-02T15:04" // an <input type="datetime-local">, UTC
)

// statuses and directions offered by the filter form.
var (
	statuses   = []string{store.StatusAccepted, store.StatusPending, store.StatusInFlight, store.StatusDelivered, store.StatusDeadLetter, store.StatusRejected}
	directions = []string{string(store.In), string(store.Out)}
)

func mount(m *console.Mux, d *console.Deps) {
	h := &handler{d: d}
	m.HandleFunc("GET /console/messages", console.RoleViewer, h.list)
	m.HandleFunc("GET /console/messages/{id}", console.RoleViewer, h.stages)
	m.HandleFunc("GET /console/messages/{id}/phi", console.RoleAnalyst, h.stages)
}

type handler struct{ d *console.Deps }

// filters is the list's form, as typed.
type filters struct {
	Identifier, Resource, VendorID, Vendor, Status, Kind, Direction, Since, Until string
}

// listPage is the list's template data.
type listPage struct {
	F        filters
	Messages []store.Message
	Next     template.URL // link to the next page, "" on the last
	// SearchedTo, when set, is how far back a page that stopped within
	// its time budget searched (older messages may still match)
	SearchedTo time.Time
	Analyst    bool
	Statuses   []string
	Directions []string
}

// parseFilters reads the list's query into a store query; the error says
// which parameter is wrong, without its value.
func parseFilters(v url.Values) (filters, store.MessageQuery, error) {
	f := filters{
		Identifier: v.Get("identifier"), Resource: v.Get("resource"), VendorID: v.Get("vendor_id"),
		Vendor: v.Get("vendor"), Status: v.Get("status"), Kind: v.Get("kind"), Direction: v.Get("direction"),
		Since: v.Get("since"), Until: v.Get("until"),
	}
	for name, s := range map[string]string{"identifier": f.Identifier, "resource": f.Resource, "vendor_id": f.VendorID,
		"vendor": f.Vendor, "status": f.Status, "kind": f.Kind, "direction": f.Direction, "since": f.Since, "until": f.Until} {
		if len(s) > maxParam {
			return f, store.MessageQuery{}, fmt.Errorf("the parameter %s is longer than %d bytes", name, maxParam)
		}
	}
	q := store.MessageQuery{Identifier: strings.TrimSpace(f.Identifier), VendorID: strings.TrimSpace(f.VendorID),
		Vendor: f.Vendor, Status: f.Status, Kind: f.Kind, Direction: store.Direction(f.Direction), Limit: pageSize}
	if r := strings.TrimSpace(f.Resource); r != "" {
		if typ, id, ok := strings.Cut(r, "/"); ok {
			q.ResourceType, q.ResourceID = typ, id
		} else {
			q.ResourceID = r
		}
	}
	for _, t := range []struct {
		name, s string
		dst     *time.Time
	}{{"since", f.Since, &q.Since}, {"until", f.Until, &q.Until}} {
		if t.s == "" {
			continue
		}
		at, err := time.Parse(timeLayout, t.s)
		if err != nil {
			return f, q, fmt.Errorf("the parameter %s must be a date and time as YYYY-MM-DDTHH:MM (UTC)", t.name)
		}
		*t.dst = at
	}
	after, err := store.ParseMessageCursor(v.Get("after"))
	if err != nil {
		return f, q, fmt.Errorf("the parameter after: %w", err)
	}
	q.After = after
	if err := q.Check(); err != nil {
		return f, q, err
	}
	return f, q, nil
}

// nextQuery is the query string of the page after cursor with filters f.
func nextQuery(f filters, cursor store.MessageCursor) string {
	v := url.Values{}
	for k, s := range map[string]string{"identifier": f.Identifier, "resource": f.Resource, "vendor_id": f.VendorID,
		"vendor": f.Vendor, "status": f.Status, "kind": f.Kind, "direction": f.Direction, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	v.Set("after", cursor.String())
	return v.Encode()
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f, q, err := parseFilters(r.URL.Query())
	if err != nil {
		console.Fail(w, r, http.StatusBadRequest, "Bad search: "+err.Error()+".")
		return
	}
	analyst := console.UserOf(r).Can(console.RoleAnalyst)
	if q.Identifier != "" {
		// an identifier value is patient data: analysts only, audited
		if !analyst {
			console.Fail(w, r, http.StatusForbidden, "Searching by identifier needs the analyst role.")
			return
		}
		if err := console.AuditPHIView(r, "message search by identifier"); err != nil {
			h.internal(w, r, "auditing a search", err)
			return
		}
	}
	msgs, next, err := h.d.Store.SearchMessages(r.Context(), q)
	if err != nil {
		h.internal(w, r, "searching messages", err)
		return
	}
	p := listPage{F: f, Messages: msgs, Analyst: analyst, Statuses: statuses, Directions: directions}
	if !next.IsZero() {
		// built by url.Values.Encode from our own query: safe as a URL
		p.Next = template.URL("/console/messages?" + nextQuery(f, next))
		if len(msgs) < pageSize {
			p.SearchedTo = next.At
		}
	}
	console.Render(w, r, templates, "list", p)
}

// resourceStages are the stages about one resource.
type resourceStages struct {
	Type, ID  string
	Version   int
	Received  string             // the stored version's body (analyst's view only)
	Jobs      []delivery.JobInfo // the delivery jobs of this version (or of the attempt)
	Attempts  []store.Message
	Outputs   map[int64]string // attempt id → mapped output (analyst's view only)
	VendorIDs map[string]string
}

// stagesPage is the stages page's template data.
type stagesPage struct {
	M         store.Message
	Body      string // the message's own body (analyst's view only)
	PHI       bool
	Analyst   bool
	Resources []resourceStages
}

func (h *handler) stages(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		console.Fail(w, r, http.StatusBadRequest, "A message id is a positive number.")
		return
	}
	ctx := r.Context()
	m, err := h.d.Store.Message(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		console.Fail(w, r, http.StatusNotFound, "No such message (it may have been pruned).")
		return
	}
	if err != nil {
		h.internal(w, r, "reading a message", err)
		return
	}
	phi := strings.HasSuffix(r.URL.Path, "/phi")
	p := stagesPage{M: m, PHI: phi, Analyst: console.UserOf(r).Can(console.RoleAnalyst)}
	var refs []store.MessageResource
	if m.Direction == store.In {
		if refs, err = h.d.Store.MessageResources(ctx, id); err != nil {
			h.internal(w, r, "listing a message's resources", err)
			return
		}
	} else if m.ResourceID != "" {
		refs = []store.MessageResource{{Type: m.ResourceType, ID: m.ResourceID}}
	}
	for _, ref := range refs {
		rs := resourceStages{Type: ref.Type, ID: ref.ID, Version: ref.Version}
		if rs.Jobs, err = h.jobs(ctx, m, ref); err != nil {
			h.internal(w, r, "listing delivery jobs", err)
			return
		}
		q := store.MessageQuery{Direction: store.Out, ResourceType: ref.Type, ResourceID: ref.ID, Limit: maxRelated}
		switch {
		case len(rs.Jobs) > 0: // the attempts of those jobs
			q = store.MessageQuery{Limit: maxRelated}
			for _, j := range rs.Jobs {
				q.JobIDs = append(q.JobIDs, j.ID)
			}
		case m.Direction == store.In:
			q.Since = m.At // jobs pruned: what followed this message
		default:
			q.Kind = m.Kind // this flow's attempts
		}
		if rs.Attempts, _, err = h.d.Store.SearchMessages(ctx, q); err != nil {
			h.internal(w, r, "listing delivery attempts", err)
			return
		}
		if rs.VendorIDs, err = h.d.Store.VendorIDs(ctx, ref.Type, ref.ID); err != nil {
			h.internal(w, r, "listing vendor ids", err)
			return
		}
		if phi {
			if ref.Version > 0 {
				v, err := h.d.Store.ReadVersion(ctx, ref.Type, ref.ID, ref.Version)
				if err == nil {
					rs.Received = clip(v.Body)
				} else if !errors.Is(err, store.ErrNotFound) {
					h.internal(w, r, "reading a stored version", err)
					return
				}
			}
			rs.Outputs = map[int64]string{}
			for _, a := range rs.Attempts {
				if a.Status != store.StatusDelivered {
					continue
				}
				full, err := h.d.Store.Message(ctx, a.ID)
				if err != nil {
					h.internal(w, r, "reading a delivery attempt", err)
					return
				}
				rs.Outputs[a.ID] = clip(full.Body)
			}
		}
		p.Resources = append(p.Resources, rs)
	}
	if phi {
		p.Body = clip(m.Body)
		if err := console.AuditPHIView(r, fmt.Sprintf("message %d stages with bodies", id)); err != nil {
			h.internal(w, r, "auditing a view", err)
			return
		}
	}
	console.Render(w, r, templates, "stages", p)
}

// jobs lists the delivery jobs of what m is about: those of the resource
// version an inbound message stored, or the job of an attempt. Delivered
// jobs are pruned after a while (retention.delivered_jobs): then none.
func (h *handler) jobs(ctx context.Context, m store.Message, ref store.MessageResource) ([]delivery.JobInfo, error) {
	q := `SELECT id, flow, state, attempts, last_error FROM delivery_jobs WHERE `
	var args []any
	switch {
	case m.Direction == store.Out && m.JobID != 0:
		q += `id = ?`
		args = []any{m.JobID}
	case m.Direction == store.In && ref.Version > 0:
		q += `resource_type = ? AND resource_id = ? AND version = ?`
		args = []any{ref.Type, ref.ID, ref.Version}
	default:
		return nil, nil
	}
	rows, err := h.d.Store.DB().QueryContext(ctx, h.d.Store.Rebind(q+` ORDER BY id LIMIT 100`), args...)
	if err != nil {
		return nil, store.Classify("listing delivery jobs", err)
	}
	defer rows.Close()
	var out []delivery.JobInfo
	for rows.Next() {
		j := delivery.JobInfo{ResourceType: ref.Type, ResourceID: ref.ID, Version: ref.Version}
		if err := rows.Scan(&j.ID, &j.Flow, &j.State, &j.Attempts, &j.LastError); err != nil {
			return nil, store.Classify("listing delivery jobs", err)
		}
		out = append(out, j)
	}
	return out, store.Classify("listing delivery jobs", rows.Err())
}

// clip is a body as text, cut at maxBody bytes.
func clip(b []byte) string {
	if len(b) > maxBody {
		return string(b[:maxBody]) + "\n… (cut at 64 KiB)"
	}
	return string(b)
}

// internal logs a failure without values and answers 500.
func (h *handler) internal(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.d.Logger.Error("console messages: "+op, "error", err.Error())
	console.Fail(w, r, http.StatusInternalServerError, "The messages could not be read; the log says why.")
}
