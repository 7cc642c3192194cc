package tmpfiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// ReportSuffix is appended to a file's name for its sidecar report.
const ReportSuffix = ".report.txt"

// maxListed bounds the refused lines a ledger detail lists.
const maxListed = 20

// Options are a Poller's optional collaborators.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TempDir holds downloads (default os.TempDir()).
	TempDir string
}

// Poller polls one folder of temporary table files and applies them
// through a ws.Booker. It is not safe for concurrent use; run one per
// job.
type Poller struct {
	job    Job
	st     *store.Store
	booker ws.Booker
	opt    Options
	now    func() time.Time
	seen   map[string]observation
}

type observation struct {
	size int64
	mod  time.Time
}

// New returns a Poller of job (from Jobs) over st, applying rows through
// booker.
func New(job Job, st *store.Store, booker ws.Booker, opt Options) (*Poller, error) {
	if _, ok := tables[job.Table]; !ok || job.Name == "" || job.Pattern == "" || job.MaxFileSize <= 0 || job.MaxRowSize <= 0 {
		return nil, fmt.Errorf("configuring temporary table job %q: use a Job from Jobs", job.Name)
	}
	if st == nil || booker == nil {
		return nil, fmt.Errorf("configuring temporary table job %s: a store and a booker are required", job.Name)
	}
	p := &Poller{job: job, st: st, booker: booker, opt: opt, now: opt.Now, seen: map[string]observation{}}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Job returns the poller's job.
func (p *Poller) Job() Job { return p.job }

// Report is what one Poll did.
type Report struct {
	Job   string
	Files []FileReport
	// Waiting are matching files not yet stable.
	Waiting []string
}

// FileReport is one file taken by a Poll.
type FileReport struct {
	Path    string
	Outcome string // a ledger outcome
	RowsOK  int
	// RowsFailed counts refused rows; Failed lists the first of them.
	RowsFailed int
	Failed     []LineError
	// Recovered: the file had been applied before a restart; only its move
	// was finished.
	Recovered bool
	MovedTo   string
	// Err is a failure that leaves the file in place, retried next poll.
	Err error
	// RequestID is the file's request id and SpanContext its span's; see
	// LogContext.
	RequestID   string
	SpanContext trace.SpanContext
}

// LineError is one refused row: its physical line and a reason without
// cell values.
type LineError struct {
	Line   int
	Reason string
}

// Poll lists the job's folder and processes every stable file in name
// order. It returns an error only when the folder cannot be listed.
func (p *Poller) Poll(ctx context.Context, remote connectors.Remote) (rep Report, err error) {
	ctx, span := startPoll(ctx, p.job.Name)
	defer func() { endPoll(span, rep, err) }()
	rep = Report{Job: p.job.Name}
	files, err := remote.List(ctx, p.job.Dir)
	if err != nil {
		return rep, fmt.Errorf("listing the folder of job %s: %w", p.job.Name, err)
	}
	now := p.now()
	current := map[string]observation{}
	var take []string
	for _, f := range files {
		name := p.full(f.Name)
		base := path.Base(name)
		if ok, _ := path.Match(p.job.Pattern, base); !ok || strings.HasSuffix(base, ReportSuffix) {
			continue
		}
		obs := observation{f.Size, f.ModTime}
		current[name] = obs
		prev, seen := p.seen[name]
		if seen && prev == obs && now.Sub(f.ModTime) >= time.Duration(p.job.MinAge) {
			take = append(take, name)
		} else {
			rep.Waiting = append(rep.Waiting, name)
		}
	}
	p.seen = current
	sort.Strings(take)
	for _, name := range take {
		if ctx.Err() != nil {
			break
		}
		fr := p.process(ctx, remote, name)
		if fr.Err == nil {
			delete(p.seen, name)
		}
		rep.Files = append(rep.Files, fr)
	}
	return rep, nil
}

func (p *Poller) full(name string) string {
	name = strings.Trim(name, "/")
	if p.job.Dir == "" || strings.HasPrefix(name, p.job.Dir+"/") { // not a URL path: a remote folder
		return name
	}
	return path.Join(p.job.Dir, name)
}

// process takes one file: download and hash, the ledger's decision, the
// rows through the Booker, the ledger entry, then the move.
func (p *Poller) process(ctx context.Context, remote connectors.Remote, name string) (fr FileReport) {
	ctx, span := startFile(ctx, p.job.Name, name)
	defer func() { endFile(ctx, span, &fr) }()
	fr = FileReport{Path: name}
	tmp, size, sum, err := p.download(ctx, remote, name)
	if tmp != nil {
		defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	}
	entry := ledger.Entry{Direction: ledger.In, Job: p.job.Name, Path: name, Size: size, SHA256: sum}
	switch {
	case errors.Is(err, inbound.ErrTooLarge):
		entry.Outcome = ledger.OutcomeFailed
		entry.Detail = fmt.Sprintf("file of %d bytes exceeds the limit of %d bytes; not read", size, p.job.MaxFileSize)
	case err != nil:
		fr.Err = err
		return fr
	default:
		prev, done, recovered, err := p.decide(ctx, &entry)
		if err != nil {
			fr.Err = fmt.Errorf("processing %s: %w", name, err)
			return fr
		}
		if done {
			fr.Recovered, entry = recovered, prev
			break
		}
		if err := p.apply(ctx, tmp, &entry, &fr); err != nil {
			fr.Err = fmt.Errorf("processing %s: %w", name, err)
			return fr
		}
	}
	if entry.ID == 0 {
		if err := p.st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			entry.ID, err = ledger.Record(ctx, tx, entry)
			return err
		}); err != nil {
			fr.Err = fmt.Errorf("recording %s in the ledger: %w", name, err)
			return fr
		}
	}
	fr.Outcome, fr.RowsOK, fr.RowsFailed = entry.Outcome, entry.RowsOK, entry.RowsFailed
	if err := p.finish(ctx, remote, name, entry, &fr); err != nil {
		fr.Err = err
	}
	return fr
}

// download copies the file to a temporary file while hashing it, reading
// at most the job's MaxFileSize bytes (inbound.ErrTooLarge beyond).
func (p *Poller) download(ctx context.Context, remote connectors.Remote, name string) (*os.File, int64, string, error) {
	return inbound.Download(ctx, remote, name, p.job.MaxFileSize, p.opt.TempDir, "fhirbridge-tmpfiles-*")
}

// decide looks the file up in the ledger: the same path and hash (applied
// before a restart: done, prev is its entry), the same hash under another
// path (a duplicate: recorded now, done), or new (not done).
func (p *Poller) decide(ctx context.Context, e *ledger.Entry) (prev ledger.Entry, done, recovered bool, err error) {
	err = p.st.InTx(ctx, func(tx *store.Tx) error {
		// content that comes back under a path it had before (A, then B,
		// then A again) is recorded again, as the next generation of its
		// ledger key
		g, err := ledger.NextGeneration(ctx, tx, p.job.Name, e.Path, e.Size, e.SHA256)
		if err != nil {
			return err
		}
		e.Generation = g
		got, err := ledger.ByPath(ctx, tx, ledger.In, p.job.Name, e.Path)
		if err == nil && got.SHA256 == e.SHA256 {
			prev, done, recovered = got, true, true
			return nil
		}
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		earlier, err := ledger.ByHash(ctx, tx, ledger.In, p.job.Name, e.SHA256)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d := *e
		d.Outcome, d.At = ledger.OutcomeDuplicate, p.now()
		d.Detail = "same content as " + earlier.Path + "; nothing applied"
		if d.ID, err = ledger.Record(ctx, tx, d); err != nil {
			return err
		}
		prev, done = d, true
		return nil
	})
	return prev, done, recovered, err
}

// apply sends the file's rows to the Booker and fills e's counts, outcome
// and detail. A Booker that is unavailable stops the file: the error
// leaves it unrecorded, to be retried.
func (p *Poller) apply(ctx context.Context, r io.Reader, e *ledger.Entry, fr *FileReport) error {
	e.At = p.now()
	err := readRows(r, p.job.Table, p.job.MaxRowSize, func(line int, a action, reason string) error {
		if reason == "" {
			var err error
			reason, err = p.call(ctx, a)
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
		}
		if reason == "" {
			e.RowsOK++
			return nil
		}
		e.RowsFailed++
		if len(fr.Failed) < maxListed {
			fr.Failed = append(fr.Failed, LineError{Line: line, Reason: reason})
		}
		return nil
	})
	if errors.Is(err, errHeader) {
		e.RowsOK, e.RowsFailed, fr.Failed = 0, 0, nil
		e.Outcome = ledger.OutcomeFailed
		e.Detail = "file refused: " + strings.TrimPrefix(err.Error(), errHeader.Error()+": ")
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case e.RowsFailed == 0:
		e.Outcome = ledger.OutcomeOK
	case e.RowsOK > 0:
		e.Outcome = ledger.OutcomePartial
	default:
		e.Outcome = ledger.OutcomeFailed
	}
	e.Detail = detail(e, fr.Failed)
	return nil
}

// call performs one action; a refusal by the Booker is a reason (its
// message with the row's values replaced), an unavailable Booker an error.
func (p *Poller) call(ctx context.Context, a action) (string, error) {
	var rec ws.Record
	var err error
	switch a.op {
	case opAdd:
		rec, err = p.booker.Add(ctx, p.job.Center, a.params)
	case opMove:
		rec, err = p.booker.Move(ctx, p.job.Center, a.appLID, a.params)
	default:
		rec, err = p.booker.Cancel(ctx, p.job.Center, a.appLID, true)
	}
	values := append(mapValues(a.params), a.appLID)
	if err != nil {
		var we *ws.Error
		if !errors.As(err, &we) || we.Kind == ws.Unavailable {
			return "", fmt.Errorf("%s: the booker is unavailable: %w", a.op, err)
		}
		return a.op + " refused: " + redact(we.Error(), values), nil
	}
	for _, k := range []string{"ADD_RESULT", "DELETE_RESULT", "RESULT"} {
		if strings.EqualFold(rec[k], "ERROR") {
			return a.op + " refused: " + redact(rec["ERROR_MESSAGE"], values), nil
		}
	}
	return "", nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// redact replaces every value of the row (two characters or more) in msg
// with "[value]", removes line breaks and cuts the result at 120
// characters, so a Booker's message never carries the row's data.
func redact(msg string, values []string) string {
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		if len(v) >= 2 {
			msg = strings.ReplaceAll(msg, v, "[value]")
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) > 120 {
		msg = string([]rune(msg)[:120]) + "…"
	}
	if msg == "" {
		msg = "no reason given"
	}
	return msg
}

// detail summarises refused rows for the ledger.
func detail(e *ledger.Entry, failed []LineError) string {
	if e.RowsFailed == 0 {
		return fmt.Sprintf("%d rows applied", e.RowsOK)
	}
	parts := make([]string, 0, len(failed))
	for _, f := range failed {
		parts = append(parts, "line "+strconv.Itoa(f.Line)+": "+f.Reason)
	}
	more := ""
	if e.RowsFailed > len(failed) {
		more = fmt.Sprintf("; and %d more", e.RowsFailed-len(failed))
	}
	return fmt.Sprintf("%d rows refused: %s%s", e.RowsFailed, strings.Join(parts, "; "), more)
}

// finish moves the file to processed/ (outcome ok) or error/ with its
// report beside it. A file of that name already there is kept; this one
// is named after its ledger entry.
func (p *Poller) finish(ctx context.Context, remote connectors.Remote, name string, e ledger.Entry, fr *FileReport) error {
	if info, err := remote.Stat(ctx, name); err != nil {
		return fmt.Errorf("checking %s before moving it: %w", name, err)
	} else if info.Size != e.Size {
		return fmt.Errorf("moving %s: the file changed while it was processed; it is left in place", name)
	}
	dir := ErrorDir
	if e.Outcome == ledger.OutcomeOK {
		dir = ProcessedDir
	}
	dest := path.Join(p.job.Dir, dir, path.Base(name))
	if _, err := remote.Stat(ctx, dest); err == nil {
		ext := path.Ext(dest)
		dest = strings.TrimSuffix(dest, ext) + "." + strconv.FormatInt(e.ID, 10) + ext
	} else if !errors.Is(err, connectors.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", dest, err)
	}
	if _, err := remote.Put(ctx, dest+ReportSuffix, strings.NewReader(report(e))); err != nil {
		return fmt.Errorf("writing the report of %s: %w", name, err)
	}
	if err := remote.Move(ctx, name, dest); err != nil {
		return fmt.Errorf("moving %s to %s: %w", name, dest, err)
	}
	fr.MovedTo = dest
	return nil
}

// report renders a ledger entry as the sidecar report.
func report(e ledger.Entry) string {
	return fmt.Sprintf("job: %s\nfile: %s\nsha256: %s\noutcome: %s\nrows applied: %d\nrows refused: %d\nrecorded: %s\ndetail: %s\n",
		e.Job, e.Path, e.SHA256, e.Outcome, e.RowsOK, e.RowsFailed, e.At.UTC().Format(time.RFC3339), e.Detail)
}

// Run polls every poller at its job's interval until ctx ends, opening
// the remote with open for each poll and logging each file (job, path,
// outcome, counts; never a cell).
func Run(ctx context.Context, pollers []*Poller, open func(context.Context) (connectors.Remote, error), log *slog.Logger) {
	done := make(chan struct{})
	for _, p := range pollers {
		go func() {
			defer func() { done <- struct{}{} }()
			tick := time.NewTicker(time.Duration(p.job.Every))
			defer tick.Stop()
			for {
				PollOnce(ctx, p, open, log)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	for range pollers {
		<-done
	}
}

// PollOnce opens the remote, polls p once and logs what happened.
func PollOnce(ctx context.Context, p *Poller, open func(context.Context) (connectors.Remote, error), log *slog.Logger) {
	remote, err := open(ctx)
	if err != nil {
		log.Warn("temporary table poll: connecting", "job", p.job.Name, "err", err)
		return
	}
	defer remote.Close()
	rep, err := p.Poll(ctx, remote)
	if err != nil {
		log.Warn("temporary table poll", "job", p.job.Name, "err", err)
		return
	}
	for _, f := range rep.Files {
		level := slog.LevelInfo
		if f.Err != nil || f.Outcome != ledger.OutcomeOK {
			level = slog.LevelWarn
		}
		log.Log(f.LogContext(ctx), level, "temporary table file", "job", rep.Job, "file", f.Path, "outcome", f.Outcome,
			"rows_ok", f.RowsOK, "rows_failed", f.RowsFailed, "recovered", f.Recovered, "moved_to", f.MovedTo, "err", f.Err)
	}
}
