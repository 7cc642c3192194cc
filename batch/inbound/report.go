package inbound

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
)

// MaxListed caps the failed lines kept in a ledger detail and a sidecar
// report, and the cancelled ids kept in a FileReport; counts stay exact.
const MaxListed = 1000

// Report is what one Poll (or Reprocess) did.
type Report struct {
	// Job is the Spec's Name.
	Job string
	// Files lists the files taken, in the order processed.
	Files []FileReport
	// Waiting lists the matching files not yet stable.
	Waiting []string
	// Rejected lists the files refused for their name (see Rejected);
	// callers log them at WARN.
	Rejected []Rejected
}

// FileReport is the outcome of one file.
type FileReport struct {
	// Path is the file's name on the remote, relative to its base.
	Path string
	// Outcome is a ledger outcome: ok, partial, failed or duplicate.
	Outcome string
	// Size and SHA256 (hex) of the content processed.
	Size   int64
	SHA256 string
	// RowsOK and RowsFailed count data rows applied and refused.
	RowsOK, RowsFailed int
	// Failed lists refused rows by physical line (at most MaxListed).
	Failed []LineError
	// Cancelled lists the appointments this file newly cancelled (at most
	// MaxListed; CancelledCount is exact), for the mail digest.
	Cancelled      []string
	CancelledCount int
	// Updated counts Appointments that got a new version.
	Updated int
	// DuplicateOf is the path of the earlier file with the same content,
	// when Outcome is duplicate.
	DuplicateOf string
	// Recovered is true when the file had been applied before the bridge
	// stopped and only its move was finished now.
	Recovered bool
	// MovedTo is where the file is now ("" when the move failed).
	MovedTo string
	// Err is a failure to download, apply or move the file (nil when
	// none); the file stays where it was and is tried again next poll.
	Err error
	// RequestID is the file's request id (the delivery jobs its rows
	// enqueued carry it) and SpanContext its span's; see LogContext.
	RequestID   string
	SpanContext trace.SpanContext
}

// LineError is one refused row.
type LineError struct {
	// Line is the physical line where the row starts (the header is 1).
	Line int
	// Reason says what is wrong, never what the row contains.
	Reason string
}

// Err joins the failures of a Report: files that could not be processed or
// moved. It is nil when everything succeeded.
func (r Report) Err() error {
	var errs []error
	for _, f := range r.Files {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errors.Join(errs...)
}

// detail is the ledger detail of a processed file: a summary line, then
// one line per refused row (capped at MaxListed).
func detail(fr *FileReport) string {
	var b strings.Builder
	switch {
	case fr.Outcome == ledger.OutcomeDuplicate:
		fmt.Fprintf(&b, "same content as %s; nothing applied", fr.DuplicateOf)
	default:
		fmt.Fprintf(&b, "%d rows ok, %d rows failed", fr.RowsOK, fr.RowsFailed)
	}
	for _, le := range fr.Failed {
		b.WriteString("\nline ")
		b.WriteString(strconv.Itoa(le.Line))
		b.WriteString(": ")
		b.WriteString(le.Reason)
	}
	if n := fr.RowsFailed - len(fr.Failed); n > 0 && fr.Outcome != ledger.OutcomeDuplicate {
		fmt.Fprintf(&b, "\n… and %d more failed rows not listed", n)
	}
	return b.String()
}

// renderReport is the sidecar report of a ledger entry.
func renderReport(e ledger.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fhirbridge inbound file report\n")
	fmt.Fprintf(&b, "job:      %s\nfile:     %s\n", e.Job, e.Path)
	fmt.Fprintf(&b, "size:     %d bytes\nsha256:   %s\n", e.Size, e.SHA256)
	fmt.Fprintf(&b, "recorded: %s (ledger entry %d)\n", e.At.UTC().Format(time.RFC3339), e.ID)
	fmt.Fprintf(&b, "outcome:  %s\nrows ok:  %d\nrows failed: %d\n\n", e.Outcome, e.RowsOK, e.RowsFailed)
	b.WriteString(e.Detail)
	b.WriteString("\n")
	return b.String()
}

// failedLines reads the refused lines back from a ledger detail, for a
// report rebuilt after a restart.
func failedLines(detail string) []LineError {
	var out []LineError
	for _, l := range strings.Split(detail, "\n") {
		rest, ok := strings.CutPrefix(l, "line ")
		if !ok {
			continue
		}
		num, reason, ok := strings.Cut(rest, ": ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		out = append(out, LineError{Line: n, Reason: reason})
	}
	return out
}
