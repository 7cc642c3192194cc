package workbench

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/console"
	wb "github.com/fhirbridge/fhirbridge/batch/workbench"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

//go:embed templates/*.html
var templateFS embed.FS

var tmpl = template.Must(template.New("").Funcs(console.Funcs()).ParseFS(templateFS, "templates/*.html"))

func init() {
	console.RegisterPage(console.Page{Name: "workbench", Title: "Mapping workbench", Order: 500,
		Role: console.RoleAnalyst, Mount: mount})
}

// Bounds of the form.
const (
	maxForm   = 3 << 20 // the edited text and a paste, with room for the rest
	maxParams = 4 << 10
	refresh   = "2" // seconds between progress refreshes
)

func mount(m *console.Mux, d *console.Deps) {
	jobs := newJobs(d.Now)
	m.HandleFunc("GET /console/workbench", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		showForm(w, r, d, jobs, formFromQuery(r), "")
	})
	m.HandleFunc("POST /console/workbench/run", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		start(w, r, d, jobs)
	})
	m.HandleFunc("GET /console/workbench/jobs/{id}", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		showJob(w, r, jobs)
	})
	m.HandleFunc("POST /console/workbench/jobs/{id}/cancel", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		j := ownJob(w, r, jobs)
		if j == nil {
			return
		}
		j.cancel()
		if err := console.Audit(r, "workbench.cancel", "job "+j.ID); err != nil {
			console.Fail(w, r, http.StatusInternalServerError, "The audit log could not be written.")
			return
		}
		http.Redirect(w, r, "/console/workbench/jobs/"+j.ID, http.StatusSeeOther)
	})
	m.HandleFunc("POST /console/workbench/jobs/{id}/cases", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		downloadCases(w, r, jobs)
	})
}

// choice is one mapping the form offers.
type choice struct {
	Value, Label string
	Selected     bool
}

// form is what the form holds.
type form struct {
	Mapping, Params, Edited, Source, Since, Until, Paste string
	Max                                                  int
}

// formPage is the form page's data.
type formPage struct {
	Choices []choice
	form
	Loaded    bool   // a mapping is chosen and its text loaded
	Direction string // of the chosen mapping
	Reads     string // what its inputs are
	Error     string
	Jobs      []jobView
}

func formFromQuery(r *http.Request) form {
	q := r.URL.Query()
	return form{Mapping: q.Get("mapping"), Params: q.Get("params"), Source: "range", Max: wb.DefaultMaxInputs}
}

// resolve finds the mapping a form value names: "route:NAME" (a route of
// the configuration, with its params) or "shipped:NAME" (with the form's
// params). Only these: a console user never names a file of the host.
func resolve(d *console.Deps, value, paramText string) (shipped.Source, map[string]string, error) {
	kind, name, _ := strings.Cut(value, ":")
	switch kind {
	case "route":
		for _, rt := range d.Config.Routes {
			if rt.Name == name {
				src, err := bridge.MappingSource(rt.Mapping, d.Config.Dir())
				return src, rt.Params, err
			}
		}
		return shipped.Source{}, nil, errors.New("no route of that name in the configuration")
	case "shipped":
		if _, ok := shipped.Path(name); !ok {
			return shipped.Source{}, nil, errors.New("no shipped mapping of that name")
		}
		params, err := parseParams(paramText)
		if err != nil {
			return shipped.Source{}, nil, err
		}
		src, err := shipped.Resolve(nil, name)
		return src, params, err
	}
	return shipped.Source{}, nil, errors.New("choose a mapping")
}

// parseParams reads "name=value" lines.
func parseParams(text string) (map[string]string, error) {
	if len(text) > maxParams {
		return nil, fmt.Errorf("parameters: over %d bytes", maxParams)
	}
	out := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("parameters line %d: want name=value", i+1)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func choices(d *console.Deps, selected string) []choice {
	var out []choice
	for _, rt := range d.Config.Routes {
		v := "route:" + rt.Name
		out = append(out, choice{Value: v, Label: "route " + rt.Name + " (" + rt.Mapping + ")", Selected: v == selected})
	}
	for _, n := range shipped.Names() {
		v := "shipped:" + n
		out = append(out, choice{Value: v, Label: "shipped " + n, Selected: v == selected})
	}
	return out
}

// showForm renders the form; with a chosen mapping and no edited text
// yet, the edit box starts with the mapping's current text.
func showForm(w http.ResponseWriter, r *http.Request, d *console.Deps, jobs *jobs, f form, msg string) {
	p := formPage{Choices: choices(d, f.Mapping), form: f, Error: msg, Jobs: jobs.list(console.UserOf(r).Name)}
	if p.Since == "" {
		now := d.Now().UTC()
		p.Since, p.Until = now.Add(-24*time.Hour).Format(timeForm), now.Format(timeForm)
	}
	if f.Mapping != "" {
		src, params, err := resolve(d, f.Mapping, f.Params)
		var m *mapping.Mapping
		if err == nil {
			m, err = src.Load(params)
		}
		if err != nil {
			p.Error = "The mapping could not be loaded: " + err.Error()
		} else {
			p.Loaded, p.Direction, p.Reads = true, m.Direction().String(), reads(m)
			if p.Edited == "" {
				text, err := fs.ReadFile(src.FS, src.File)
				if err != nil {
					p.Error = "The mapping's text could not be read."
				}
				p.Edited = string(text)
			}
		}
	}
	// console.Render answers 200: a refused form is shown again with its error
	console.Render(w, r, tmpl, "workbench", p)
}

// reads says what a mapping's inputs are.
func reads(m *mapping.Mapping) string {
	switch {
	case m.Direction() == mapping.Forward:
		return "stored " + m.SourceType() + " versions in a time range, or a pasted " + m.SourceType() + " or Bundle"
	case m.Input() == "hl7v2":
		return "a pasted HL7 v2 message (the store keeps no inbound messages)"
	case m.Input() == "csv":
		return "pasted CSV with a header line (the store keeps no inbound records)"
	}
	return "a pasted JSON record or list of records (the store keeps no inbound records)"
}

// timeForm is the layout of the range fields (UTC).
const timeForm = "2006-01-02T15:04"

// parseTime reads a range field: timeForm, with seconds when a browser
// adds them.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeForm, s)
	if err != nil {
		t, err = time.Parse(timeForm+":05", s)
	}
	return t, err
}

func start(w http.ResponseWriter, r *http.Request, d *console.Deps, jobs *jobs) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		console.Fail(w, r, http.StatusRequestEntityTooLarge, "The form is too large (the edited mapping and a paste may hold 1 MiB each).")
		return
	}
	f := form{Mapping: r.PostForm.Get("mapping"), Params: r.PostForm.Get("params"), Edited: r.PostForm.Get("edited"),
		Source: r.PostForm.Get("source"), Since: r.PostForm.Get("since"), Until: r.PostForm.Get("until"),
		Paste: r.PostForm.Get("paste"), Max: wb.DefaultMaxInputs}
	if s := r.PostForm.Get("max"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > wb.HardMaxInputs {
			showForm(w, r, d, jobs, f, fmt.Sprintf("Inputs at most: a number from 1 to %d.", wb.HardMaxInputs))
			return
		}
		f.Max = n
	}
	src, params, err := resolve(d, f.Mapping, f.Params)
	if err != nil {
		showForm(w, r, d, jobs, form{Source: f.Source, Max: f.Max}, "The mapping could not be found: "+err.Error())
		return
	}
	p, err := wb.Load(src, params, []byte(strings.ReplaceAll(f.Edited, "\r\n", "\n")))
	if err != nil {
		showForm(w, r, d, jobs, f, "The mapping could not be compiled: "+err.Error())
		return
	}
	var in wb.Inputs
	what := ""
	switch f.Source {
	case "range":
		if p.Before.Direction() != mapping.Forward {
			showForm(w, r, d, jobs, f, "A reverse mapping reads pasted input only: the store keeps no inbound records.")
			return
		}
		since, err1 := parseTime(f.Since)
		until, err2 := parseTime(f.Until)
		if err1 != nil || err2 != nil || !since.Before(until) {
			showForm(w, r, d, jobs, f, "The time range needs a start before its end, as YYYY-MM-DDTHH:MM (UTC).")
			return
		}
		in = wb.StoreRange(d.Store, p.Before.SourceType(), since, until, 200)
		what = p.Before.SourceType() + " stored " + since.Format(timeForm) + " to " + until.Format(timeForm)
	case "paste":
		in, err = wb.Pasted(p.Before, []byte(f.Paste))
		if err != nil {
			showForm(w, r, d, jobs, f, "The pasted input was refused: "+err.Error())
			return
		}
		what = "pasted input"
	default:
		showForm(w, r, d, jobs, f, "Choose stored resources in a time range or a pasted input.")
		return
	}
	j, err := jobs.start(console.UserOf(r).Name, f.Mapping, what, p, in, f.Max)
	if err != nil {
		showForm(w, r, d, jobs, f, err.Error())
		return
	}
	if err := console.Audit(r, "workbench.run", "job "+j.ID+" "+f.Mapping+" on "+what+", at most "+strconv.Itoa(f.Max)+" inputs"); err != nil {
		j.cancel()
		console.Fail(w, r, http.StatusInternalServerError, "The audit log could not be written; the run was cancelled.")
		return
	}
	http.Redirect(w, r, "/console/workbench/jobs/"+j.ID, http.StatusSeeOther)
}

// ownJob returns the job of the path's id when the request's user started
// it; otherwise it answers 404 and returns nil.
func ownJob(w http.ResponseWriter, r *http.Request, jobs *jobs) *job {
	j := jobs.get(r.PathValue("id"))
	if j == nil || j.Owner != console.UserOf(r).Name {
		console.Fail(w, r, http.StatusNotFound, "No such run (runs are kept in memory for a while, and shown to the analyst who started them).")
		return nil
	}
	return j
}

func showJob(w http.ResponseWriter, r *http.Request, jobs *jobs) {
	j := ownJob(w, r, jobs)
	if j == nil {
		return
	}
	v := j.view(true)
	if v.Running {
		w.Header().Set("Refresh", refresh)
	} else if len(v.Results) > 0 {
		if err := console.AuditPHIView(r, "workbench job "+j.ID+" diffs of "+strconv.Itoa(len(v.Results))+" inputs"); err != nil {
			console.Fail(w, r, http.StatusInternalServerError, "The audit log could not be written.")
			return
		}
	}
	console.Render(w, r, tmpl, "job", v)
}

func downloadCases(w http.ResponseWriter, r *http.Request, jobs *jobs) {
	j := ownJob(w, r, jobs)
	if j == nil {
		return
	}
	if err := r.ParseForm(); err != nil {
		console.Fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	var ns []int
	for _, s := range r.PostForm["n"] {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			console.Fail(w, r, http.StatusBadRequest, "Each chosen input is a positive number.")
			return
		}
		ns = append(ns, n)
	}
	sort.Ints(ns)
	text, err := j.cases(ns)
	if err != nil {
		console.Fail(w, r, http.StatusUnprocessableEntity, "The cases could not be made: "+err.Error())
		return
	}
	if err := console.Audit(r, "workbench.cases", "job "+j.ID+", "+strconv.Itoa(len(ns))+" cases downloaded"); err != nil {
		console.Fail(w, r, http.StatusInternalServerError, "The audit log could not be written.")
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+j.casesName()+`"`)
	_, _ = w.Write(text)
}
