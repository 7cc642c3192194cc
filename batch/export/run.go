package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// Retry defaults of RunOptions.
const (
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultRetryFor bounds the retries of a Run without a Deadline.
	DefaultRetryFor = time.Hour
)

// RunOptions tunes one Run; the zero value runs a real export now-ish.
type RunOptions struct {
	// DryRun builds the file and manifest but uploads nothing and records
	// nothing; the CSV goes to Output, or to Result.CSV when Output is nil.
	DryRun bool
	// Output receives a copy of the CSV bytes as they are written (the
	// CLI's --dry-run prints them); nil for none.
	Output io.Writer
	// Deadline ends the upload retries (the Runner passes the next
	// scheduled run); zero means DefaultRetryFor after the start.
	Deadline time.Time
	// Backoff and MaxBackoff bound the exponential backoff between
	// attempts (defaults 1s and 5m; a vendor's Retry-After wins when longer).
	Backoff, MaxBackoff time.Duration
	// Reopen opens a new session when the remote asks for a reconnect;
	// nil retries on the same Remote.
	Reopen func(ctx context.Context) (connectors.Remote, error)
	// Clock is the time source (SystemClock when nil).
	Clock Clock
	// TempDir holds the temporary CSV file ("" means os.TempDir()).
	TempDir string
	// Slot, when not "", is the scheduled slot this run is for (Slot.Key);
	// it is recorded with the ledger entry so SlotDone reports it.
	Slot string
	// Fence, when not nil, is called inside the transaction that records
	// an uploaded export, before anything is written; an error rolls the
	// record back and Run returns it. The Runner checks there that this
	// process still holds the slot's claim.
	Fence func(ctx context.Context, tx *store.Tx) error
	// Metrics records the run when not nil.
	Metrics *Metrics
	// Log gets one line per run (ids, counts, paths); nil for none.
	Log *slog.Logger
}

// Result is what one export did.
type Result struct {
	Job          string
	File         string // the CSV file's name on the remote
	ManifestFile string
	// Rows written; RefusedCount resources refused by the mapping or the
	// encoding, the first MaxReportedRefusals of them in Refused; Skipped
	// resources outside the window or excluded by the mapping's when.
	Rows         int
	RefusedCount int
	Refused      []Refusal
	Skipped      int
	Size         int64
	SHA256       string
	Manifest     Manifest
	ManifestJSON []byte
	// CSV holds the file's bytes after a dry run without Output.
	CSV []byte
	// Attempts counts Put calls (file and manifest, retries included).
	Attempts int
	// LedgerID is the ledger entry recorded (0 for a dry run).
	LedgerID int64
	Duration time.Duration
}

// Run performs one export of spec at export time at: it selects and maps
// the resources, writes the CSV (header first, even with no row) and its
// manifest, uploads the CSV and then the manifest to remote, and records a
// ledger.Out entry (and opt.Slot) in one store transaction. Uploads are
// retried on transient and reconnect failures until opt.Deadline; a
// permanent failure, a host key mismatch or the deadline end the run with
// an error, and the ledger then records the file as failed. The caller
// turns an error into an alert.
//
// remote may be nil when opt.Reopen is set: Run then opens (and closes)
// its own session. When the server asks for a reconnect and opt.Reopen is
// set, Run closes remote and continues on a new session.
func Run(ctx context.Context, st *store.Store, remote connectors.Remote, spec Spec, at time.Time, opt RunOptions) (Result, error) {
	j, err := spec.compile()
	if err != nil {
		return Result{Job: spec.Name}, err
	}
	clock := opt.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	ctx, span := startRun(ctx, j.Name, opt)
	start := clock.Now()
	res, err := j.run(ctx, st, remote, at, opt, clock)
	res.Duration = clock.Now().Sub(start)
	opt.Metrics.observe(j.Name, res, opt.DryRun, err, clock.Now())
	endRun(span, res, opt.DryRun, err)
	if opt.Log != nil && err == nil {
		// a failure is the caller's to report (the Runner logs it once
		// per streak, a command prints it)
		opt.Log.InfoContext(ctx, "export", "job", j.Name, "file", res.File, "rows", res.Rows, "refused", res.RefusedCount,
			"attempts", res.Attempts, "dry_run", opt.DryRun)
	}
	return res, err
}

func (j *job) run(ctx context.Context, st *store.Store, remote connectors.Remote, at time.Time, opt RunOptions, clock Clock) (Result, error) {
	file := j.pattern.Format(at.In(j.loc), j.Name)
	res := Result{Job: j.Name, File: file, ManifestFile: file + ManifestSuffix}
	w := j.window(at)
	var buf *bytes.Buffer
	out := opt.Output
	if opt.DryRun && out == nil {
		buf = new(bytes.Buffer)
		out = buf
	}
	bctx, bspan := startBuild(ctx)
	c, err := j.build(bctx, st, w, opt.TempDir, out)
	endBuild(bspan, c, err)
	if err != nil {
		return res, j.fail(ctx, st, res, nil, opt, clock, err)
	}
	defer c.close()
	res.Rows, res.RefusedCount, res.Refused, res.Skipped = c.rows, c.nRefuse, c.refused, c.skipped
	res.Size, res.SHA256 = c.size, c.sha256
	res.Manifest = j.manifest(file, c, w, at, clock.Now())
	res.ManifestJSON = res.Manifest.encode()
	if opt.DryRun {
		if buf != nil {
			res.CSV = buf.Bytes()
		}
		return res, nil
	}
	if remote == nil && opt.Reopen == nil {
		return res, j.fail(ctx, st, res, c, opt, clock, errors.New("no remote to upload to"))
	}
	up := &uploader{remote: remote, reopen: opt.Reopen, clock: clock, initial: opt.Backoff, max: opt.MaxBackoff, deadline: opt.Deadline}
	if up.initial <= 0 {
		up.initial = DefaultBackoff
	}
	if up.max <= 0 {
		up.max = DefaultMaxBackoff
	}
	if up.deadline.IsZero() {
		up.deadline = clock.Now().Add(DefaultRetryFor)
	}
	uctx, uspan := startUpload(ctx)
	files := 0
	_, err = up.put(uctx, file, c.reader)
	if err == nil {
		files++
		_, err = up.put(uctx, res.ManifestFile, func() (io.Reader, error) { return bytes.NewReader(res.ManifestJSON), nil })
	}
	if err == nil {
		files++
	}
	res.Attempts = up.attempts
	endUpload(ctx, uspan, files, up.attempts, err)
	if up.remote != nil && up.remote != remote {
		up.remote.Close() // a session Run opened through Reopen
	}
	if err != nil {
		return res, j.fail(ctx, st, res, c, opt, clock, err)
	}
	outcome := ledger.OutcomeOK
	if c.nRefuse > 0 {
		outcome = ledger.OutcomePartial
	}
	e := ledgerEntry(j.Name, file, c, outcome, fmt.Sprintf("%d rows; manifest %s", c.rows, res.ManifestFile), clock.Now())
	if res.LedgerID, err = record(context.WithoutCancel(ctx), st, e, opt.Slot, opt.Fence); err != nil {
		return res, fmt.Errorf("export %s uploaded but not recorded: %w", file, err)
	}
	return res, nil
}

// fail records a failed export in the ledger (unless dry) and returns the
// error to report.
func (j *job) fail(ctx context.Context, st *store.Store, res Result, c *content, opt RunOptions, clock Clock, err error) error {
	err = fmt.Errorf("exporting %s: %w", res.File, err)
	if opt.DryRun {
		return err
	}
	why := "failed"
	if errors.Is(err, ErrDeadline) {
		why = "deadline passed"
	} else if errors.Is(err, connectors.ErrHostKey) {
		why = "host key mismatch"
	} else if class, _ := connectors.Classify(err); class == connectors.Permanent {
		why = "permanent failure"
	}
	e := ledgerEntry(j.Name, res.File, c, ledger.OutcomeFailed, fmt.Sprintf("%s after %d attempts", why, res.Attempts), clock.Now())
	if _, rerr := record(context.WithoutCancel(ctx), st, e, "", nil); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}
