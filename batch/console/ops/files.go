package ops

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
)

// ledgerPage is the ledger list's page.
const ledgerPage = 50

// filesPage is the Exports and files page's data.
type filesPage struct {
	Now      time.Time
	Exports  []ExportRow
	Feeds    []string
	Entries  []ledger.Entry
	Dir, Job string
	NextURL  string
	Operator bool
	Analyst  bool
	Done     string
}

func mountFiles(m *console.Mux, d *console.Deps) {
	m.HandleFunc("GET /console/files", console.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		now := d.Now()
		p := filesPage{Now: now, Dir: r.FormValue("direction"), Job: r.FormValue("job"),
			Operator: console.UserOf(r).Can(console.RoleOperator), Analyst: console.UserOf(r).Can(console.RoleAnalyst)}
		if p.Dir != "" && p.Dir != string(ledger.In) && p.Dir != string(ledger.Out) {
			badRequest(w, r, "The direction filter must be in or out.")
			return
		}
		if !validName(p.Job) {
			badRequest(w, r, "The job filter is not a name.")
			return
		}
		f := ledger.Filter{Direction: ledger.Direction(p.Dir), Job: p.Job, Limit: ledgerPage + 1}
		if b := r.FormValue("before"); b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 1 {
				badRequest(w, r, "The parameter before must be a positive ledger id.")
				return
			}
			f.Before = n
		}
		if d.Ops.Modules != nil {
			ess := d.Ops.Modules.ExportSchedulers()
			for _, name := range slices.Sorted(maps.Keys(ess)) {
				scheds, err := ess[name].ExportSchedules()
				if err != nil {
					internal(w, r, d, "reading the export jobs", err)
					return
				}
				for _, s := range scheds {
					p.Exports = append(p.Exports, ExportRow{Job: s.Job, Schedule: s.Schedule, Next: s.Next(now)})
				}
			}
			rps := d.Ops.Modules.FileReprocessors()
			for _, name := range slices.Sorted(maps.Keys(rps)) {
				p.Feeds = append(p.Feeds, rps[name].InboundJobs()...)
			}
		}
		entries, err := ledger.List(r.Context(), d.Store, f)
		if err != nil {
			internal(w, r, d, "listing the file ledger", err)
			return
		}
		if len(entries) > ledgerPage {
			entries = entries[:ledgerPage]
			v := r.URL.Query()
			v.Del("done")
			v.Set("before", strconv.FormatInt(entries[ledgerPage-1].ID, 10))
			p.NextURL = "/console/files?" + v.Encode()
		}
		p.Entries = entries
		switch r.FormValue("done") {
		case "run":
			p.Done = "The export ran: its file is the newest entry of the ledger."
		case "reprocess":
			p.Done = "The file was processed again: its new entry is in the ledger."
		}
		console.Render(w, r, tmpl, "files", p)
	})
	m.HandleFunc("POST /console/files/exports/{job}/run", console.RoleOperator, func(w http.ResponseWriter, r *http.Request) {
		job := r.PathValue("job")
		if d.Ops.Modules == nil || !validName(job) {
			console.Fail(w, r, http.StatusNotFound, "No such export job.")
			return
		}
		es, err := bridge.PickExporter(d.Ops.Modules.ExportSchedulers(), job)
		if err != nil {
			console.Fail(w, r, http.StatusNotFound, "No such export job.")
			return
		}
		// what RunExportNow prints names files, counts and refused
		// resource ids; the ledger entry is what the page shows
		runErr := es.RunExportNow(r.Context(), io.Discard, d.Store, job)
		outcome := "uploaded"
		if runErr != nil {
			outcome = "failed"
		}
		if err := console.Audit(r, "export.run", fmt.Sprintf("export job %s: %s", job, outcome)); err != nil {
			internal(w, r, d, "writing the audit log", err)
			return
		}
		if runErr != nil {
			d.Logger.Warn("console: export run now failed", "job", job, "error", runErr.Error())
			console.Fail(w, r, http.StatusBadGateway, "The export failed; the log says why, and the ledger records the attempt when it got that far.")
			return
		}
		http.Redirect(w, r, "/console/files?done=run&direction=out", http.StatusSeeOther)
	})
	entry := func(w http.ResponseWriter, r *http.Request, dir ledger.Direction) (ledger.Entry, bool) {
		id, ok := pathID(r)
		if !ok {
			badRequest(w, r, "The ledger id must be a positive number.")
			return ledger.Entry{}, false
		}
		e, err := ledger.Get(r.Context(), d.Store, id)
		if errors.Is(err, ledger.ErrNotFound) || err == nil && e.Direction != dir {
			console.Fail(w, r, http.StatusNotFound, "No such file in the ledger.")
			return e, false
		}
		if err != nil {
			internal(w, r, d, "reading the file ledger", err)
			return e, false
		}
		return e, true
	}
	m.HandleFunc("GET /console/files/{id}/download", console.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		e, ok := entry(w, r, ledger.Out)
		if !ok {
			return
		}
		if d.Ops.Modules == nil || e.Outcome == ledger.OutcomeFailed {
			console.Fail(w, r, http.StatusNotFound, "This export has no file to download.")
			return
		}
		es, err := bridge.PickExporter(d.Ops.Modules.ExportSchedulers(), e.Job)
		if err != nil {
			console.Fail(w, r, http.StatusNotFound, "The export job of this file is no longer configured.")
			return
		}
		rc, err := es.OpenExport(r.Context(), e.Job, e.Path)
		if err != nil {
			d.Logger.Warn("console: reading an export back", "ledger_id", e.ID, "job", e.Job, "error", err.Error())
			console.Fail(w, r, http.StatusBadGateway, "The export file could not be read from the remote.")
			return
		}
		defer rc.Close()
		if err := console.AuditPHIView(r, fmt.Sprintf("export file, ledger entry %d (job %s)", e.ID, e.Job)); err != nil {
			internal(w, r, d, "writing the audit log", err)
			return
		}
		for k, v := range console.SecurityHeaders {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", path.Base(e.Path)))
		if _, err := io.Copy(w, rc); err != nil {
			d.Logger.Warn("console: sending an export file", "ledger_id", e.ID, "error", err.Error())
		}
	})
	m.HandleFunc("POST /console/files/{id}/reprocess", console.RoleOperator, func(w http.ResponseWriter, r *http.Request) {
		e, ok := entry(w, r, ledger.In)
		if !ok {
			return
		}
		if d.Ops.Modules == nil {
			console.Fail(w, r, http.StatusNotFound, "No configured connector reads inbound files.")
			return
		}
		rp, err := bridge.PickReprocessor(d.Ops.Modules.FileReprocessors(), e.Job)
		if err != nil {
			console.Fail(w, r, http.StatusNotFound, "No configured connector reads this file's job.")
			return
		}
		// the report names files, counts and line numbers with reasons
		// that may quote a row: not shown, the ledger has the counts
		runErr := rp.Reprocess(r.Context(), io.Discard, d.Store, routerOf(d), e.Job, e.Path)
		outcome := "done"
		if runErr != nil {
			outcome = "failed"
		}
		if err := console.Audit(r, "file.reprocess", fmt.Sprintf("ledger entry %d (job %s): %s", e.ID, e.Job, outcome)); err != nil {
			internal(w, r, d, "writing the audit log", err)
			return
		}
		if runErr != nil {
			d.Logger.Warn("console: reprocessing a file failed", "ledger_id", e.ID, "job", e.Job, "error", runErr.Error())
			console.Fail(w, r, http.StatusBadGateway, "Reprocessing failed; the log says why.")
			return
		}
		http.Redirect(w, r, "/console/files?done=reprocess&direction=in", http.StatusSeeOther)
	})
}

// routerOf is serve's router as the inbound processing takes it (nil,
// not a nil pointer, without one).
func routerOf(d *console.Deps) inbound.Router {
	if d.Ops.Router == nil {
		return nil
	}
	return d.Ops.Router
}
