package tuotempo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/mail"
)

// files is the tuOtempO file feed of one site, built from the config: the
// remote, the export jobs and the inbound pollers, with the mail notices.
type files struct {
	site     string
	remote   connectors.RemoteConfig
	exports  []exportJob
	inbound  []inboundJob
	mailer   *mail.Sender
	notifyTo []string
	log      *slog.Logger
	exportM  *export.Metrics
	inboundM *inbound.Metrics
}

type exportJob struct {
	spec     export.Spec
	schedule *export.Schedule
}

type inboundJob struct {
	poller *inbound.Poller
	every  time.Duration
}

// exportJobs compiles the configured exports; dir is the config's
// folder, where a mapping file named relative is also looked for.
func exportJobs(t *Config, dir string) ([]exportJob, error) {
	var jobs []exportJob
	for i, e := range t.Exports {
		at := fmt.Sprintf("%s.exports[%d] (%s)", section, i, e.Name)
		params := maps.Clone(e.Params)
		if params == nil {
			params = map[string]string{}
		}
		src, err := bridge.MappingSource(e.Mapping, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		spec := filepath.FromSlash(src.Path)
		m, err := export.LoadMapping(spec, params)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		// a column set with a timezone parameter writes local dates in the
		// job's zone unless the job's params say otherwise
		if _, set := params["timezone"]; !set && slices.Contains(m.Params(), "timezone") {
			params["timezone"] = e.TimeZone
			if m, err = export.LoadMapping(spec, params); err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
		}
		sched, err := export.ParseSchedule(e.Schedule, e.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		var delim rune
		if e.Format.Delimiter != "" {
			delim = rune(e.Format.Delimiter[0])
		}
		s := export.Spec{
			Name: e.Name, Mapping: m, Params: params,
			Format: export.Format{Delimiter: delim, Encoding: e.Format.Encoding, CRLF: e.Format.CRLF, QuoteAll: e.Format.QuoteAll,
				// idempotent: mappings that escape their text columns already
				// (csv_escape) are unchanged, the others (key-entities, written
				// as is for the web services) are escaped here
				EscapeFormulas: true},
			NamePattern: path.Join(e.Dir, e.File),
			Window:      export.Window{Before: time.Duration(e.Window.Before), After: time.Duration(e.Window.After)},
			Location:    sched.Location(),
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		jobs = append(jobs, exportJob{spec: s, schedule: sched})
	}
	return jobs, nil
}

// newFiles builds the site's file feed from the section t; root gives
// the config's folder and the shared mail and ehr sections. router (may
// be nil) receives the Appointments that inbound files change. node (nil
// for one process) claims each inbound file among the replicas.
func newFiles(ctx context.Context, t *Config, root bridge.Root, st *store.Store, router inbound.Router, log *slog.Logger, node *cluster.Node) (*files, error) {
	f := &files{site: Name, remote: remoteConfig(t.Remote, root.Dir()), notifyTo: t.NotifyTo, log: log,
		exportM: export.NewMetrics(), inboundM: inbound.NewMetrics()}
	var err error
	if f.exports, err = exportJobs(t, root.Dir()); err != nil {
		return nil, err
	}
	ehrFlow := ""
	if root.EHRConfig() != nil {
		ehrFlow = delivery.EHRFlow
	}
	for i, cc := range t.Cancellations {
		m, err := bridge.LoadMapping(cc.Mapping, nil, root.Dir())
		if err != nil {
			return nil, fmt.Errorf("%s.cancellations[%d] (%s): %w", section, i, cc.Name, err)
		}
		opt := inbound.Options{Router: router, EHRFlow: ehrFlow, Metrics: f.inboundM}
		if node != nil {
			opt.Claims = node // every replica polls; each file is claimed
		}
		p, err := inbound.New(ctx, st, inbound.Spec{Name: cc.Name, Pattern: cc.Pattern, Dir: cc.Dir,
			MinAge: time.Duration(cc.MinAge), DoneMarker: cc.DoneMarker, Mapping: m}, opt)
		if err != nil {
			return nil, fmt.Errorf("%s.cancellations[%d] (%s): %w", section, i, cc.Name, err)
		}
		f.inbound = append(f.inbound, inboundJob{poller: p, every: time.Duration(cc.Every)})
	}
	if m := root.MailConfig(); m != nil && len(t.NotifyTo) > 0 {
		if f.mailer, err = mail.New(*m); err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
	}
	return f, nil
}

// open connects to the site's remote.
func (f *files) open(ctx context.Context) (connectors.Remote, error) {
	return connectors.OpenRemote(ctx, f.remote)
}

// collectors are the feed's metrics.
func (f *files) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.exportM, f.inboundM}
}

// run runs the export schedules and the pollers until ctx ends. With
// node (the serve process's cluster membership; nil for one process),
// every replica runs them and each export slot and inbound file is
// claimed, so it runs on one replica.
func (f *files) run(ctx context.Context, st *store.Store, node *cluster.Node) {
	done := make(chan struct{})
	n := 0
	for _, j := range f.exports {
		n++
		r := &export.Runner{Spec: j.spec, Schedule: j.schedule, Store: st, Open: f.open,
			Options: export.RunOptions{Metrics: f.exportM, Log: f.log},
			// once per failure streak, from the replica that ran the
			// slot; the Runner logs every failure
			OnFailure: func(slot export.Slot, res export.Result, err error, streak export.Streak) {
				f.notify(ctx, mail.ExportFailureDigest(mail.ExportFailureSummary{Site: f.site, Job: j.spec.Name,
					WindowStart: slot.At.Add(-before(j.spec.Window)), WindowEnd: slot.At.Add(after(j.spec.Window)), Attempts: res.Attempts,
					Reason: reasonCode(err), At: time.Now(), Missed: streak.Missed}))
			},
			OnSuccess: func(ctx context.Context, slot export.Slot, res export.Result) {
				f.log.InfoContext(ctx, "export uploaded", "job", j.spec.Name, "slot", slot.Key, "file", res.File, "rows", res.Rows, "refused", res.RefusedCount)
			},
		}
		if node != nil {
			r.Claims = node
		}
		go func() {
			defer func() { done <- struct{}{} }()
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				f.log.Error("export schedule stopped", "job", j.spec.Name, "err", err)
			}
		}()
	}
	for _, j := range f.inbound {
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			tick := time.NewTicker(j.every)
			defer tick.Stop()
			for {
				f.pollOnce(ctx, j.poller)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	for range n {
		<-done
	}
}

// pollOnce polls one inbound job and sends its notices.
func (f *files) pollOnce(ctx context.Context, p *inbound.Poller) {
	remote, err := f.open(ctx)
	if err != nil {
		f.log.WarnContext(ctx, "inbound poll: connecting", "job", p.Spec().Name, "err", err)
		return
	}
	defer remote.Close()
	rep, err := p.Poll(ctx, remote)
	if err != nil {
		f.log.Warn("inbound poll", "job", p.Spec().Name, "err", err)
		return
	}
	f.reportInbound(ctx, rep)
}

// reportInbound logs a poll's files and mails one digest per file.
func (f *files) reportInbound(ctx context.Context, rep inbound.Report) {
	for _, rj := range rep.Rejected {
		f.log.Warn("inbound file refused for its name", "job", rep.Job, "file", rj.Name, "reason", rj.Reason, "moved_to", rj.MovedTo, "err", rj.Err)
	}
	for _, fr := range rep.Files {
		level := slog.LevelInfo
		if fr.Err != nil {
			level = slog.LevelWarn // retried on every poll: the operator must see it
		}
		// the file's request id and trace: those of the jobs it enqueued
		f.log.Log(fr.LogContext(ctx), level, "inbound file", "job", rep.Job, "file", fr.Path, "outcome", fr.Outcome, "rows_ok", fr.RowsOK,
			"rows_failed", fr.RowsFailed, "cancelled", fr.CancelledCount, "moved_to", fr.MovedTo, "err", fr.Err)
		if fr.Err != nil || fr.Recovered {
			continue
		}
		if fr.CancelledCount > 0 {
			lines := make([]int, 0, len(fr.Failed))
			for _, l := range fr.Failed {
				lines = append(lines, l.Line)
			}
			f.notify(ctx, mail.CancellationDigest(mail.CancellationSummary{Site: f.site, File: fr.Path,
				Cancelled: fr.CancelledCount, Confirmed: fr.RowsOK - fr.CancelledCount, Failed: fr.RowsFailed,
				AppointmentIDs: fr.Cancelled, FailedLines: lines, At: time.Now()}))
		}
		if fr.RowsFailed > 0 || fr.Outcome != "ok" {
			fails := make([]mail.LineFailure, 0, len(fr.Failed))
			for _, l := range fr.Failed {
				fails = append(fails, mail.LineFailure{Line: l.Line, Reason: l.Reason})
			}
			f.notify(ctx, mail.ErrorFileDigest(mail.ErrorFileSummary{Site: f.site, File: fr.Path, MovedTo: fr.MovedTo,
				Rows: fr.RowsOK + fr.RowsFailed, Failures: fails, At: time.Now()}))
		}
	}
}

// notify mails a notice to the site's recipients, if any; a failure is
// logged (the ledger and the logs still hold what happened).
func (f *files) notify(ctx context.Context, n mail.Notice) {
	if f.mailer == nil || len(f.notifyTo) == 0 {
		return
	}
	if err := f.mailer.Send(ctx, n.Message(f.notifyTo...)); err != nil {
		f.log.Error("sending mail notice", "subject", n.Subject, "err", err)
	}
}

// reasonCode names an export failure for the notice: a machine code, never
// a free text that might carry a value. The cause comes first: an upload
// that gave up at its deadline because the server never answered is
// "server_unreachable", not "deadline_passed".
func reasonCode(err error) string {
	var op *net.OpError
	class, _ := connectors.Classify(err)
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, connectors.ErrHostKey):
		return "host_key_mismatch"
	case errors.As(err, &op):
		return "server_unreachable"
	case class == connectors.Reconnect:
		return "login_refused"
	case errors.Is(err, export.ErrDeadline):
		return "deadline_passed"
	case class == connectors.Permanent:
		return "permanent_failure"
	}
	return "transient_failure"
}

// before and after are a window's spans with the export defaults.
func before(w export.Window) time.Duration {
	if w.Before == 0 {
		return export.DefaultBefore
	}
	return w.Before
}

func after(w export.Window) time.Duration {
	if w.After == 0 {
		return export.DefaultAfter
	}
	return w.After
}
