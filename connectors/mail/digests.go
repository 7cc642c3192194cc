package mail

import (
	"fmt"
	"strings"
	"time"
)

// privacyNote ends every digest: it says why the mail names no patient.
const privacyNote = "\nThis notice carries ids, file names, counts and line numbers only;\n" +
	"look the records up in the scheduling system.\n"

// CancellationSummary is the outcome of one inbound cancellation file
// (tuOtempO MEMO replies): what CancellationDigest reports. It holds no
// patient field by design.
type CancellationSummary struct {
	// Site names the centre the file belongs to.
	Site string
	// File is the file's name.
	File string
	// Cancelled, Confirmed and Failed count the file's rows by outcome.
	Cancelled, Confirmed, Failed int
	// AppointmentIDs are the ids of the cancelled appointments.
	AppointmentIDs []string
	// FailedLines are the file's line numbers that could not be applied.
	FailedLines []int
	// At is when the file was processed.
	At time.Time
}

// CancellationDigest builds the one notice for a cancellation file: the
// counts, the cancelled appointment ids (at most MaxListed, then
// "and N more") and the failed line numbers.
func CancellationDigest(s CancellationSummary) Notice {
	site, file := cleanName(s.Site), cleanName(s.File)
	subject := fmt.Sprintf("%s: %s: %s cancelled from %s", subjectPrefix, site,
		plural(s.Cancelled, "appointment"), file)
	if s.Failed > 0 {
		subject += fmt.Sprintf(", %d failed", s.Failed)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Cancellation file processed for site %s.\n\n", site)
	field(&b, "File", file)
	field(&b, "Processed", stamp(s.At))
	field(&b, "Cancelled", s.Cancelled)
	field(&b, "Confirmed", s.Confirmed)
	field(&b, "Failed", s.Failed)
	if len(s.AppointmentIDs) > 0 {
		fmt.Fprintf(&b, "\nCancelled appointment ids (%d):\n", len(s.AppointmentIDs))
		for i, id := range s.AppointmentIDs {
			if i == MaxListed {
				break
			}
			b.WriteString("  " + cleanID(id) + "\n")
		}
		more(&b, len(s.AppointmentIDs))
	}
	if len(s.FailedLines) > 0 {
		fmt.Fprintf(&b, "\nFailed lines (%d):\n", len(s.FailedLines))
		lineList(&b, s.FailedLines)
	}
	b.WriteString(privacyNote)
	return Notice{Subject: subject, Body: b.String()}
}

// ExportFailureSummary is an export job that gave up: what
// ExportFailureDigest reports.
type ExportFailureSummary struct {
	// Site names the centre the export was for.
	Site string
	// Job names the export job, e.g. "tuotempo/reservations".
	Job string
	// WindowStart and WindowEnd bound the records the run exported.
	WindowStart, WindowEnd time.Time
	// Attempts counts the uploads tried (0 when no connection was made).
	Attempts int
	// Reason is a machine code from the caller's vocabulary, e.g.
	// "sftp_unreachable" or "http_503"; free text is replaced by
	// "invalid-reason-code".
	Reason string
	// At is when the job gave up.
	At time.Time
	// Missed counts the slots missed while the bridge was not running and
	// superseded by this run (0: none).
	Missed int
}

// ExportFailureDigest builds the one notice for a failed export run.
func ExportFailureDigest(s ExportFailureSummary) Notice {
	site, job := cleanName(s.Site), cleanName(s.Job)
	reason := cleanCode(s.Reason)
	subject := fmt.Sprintf("%s: %s: export %s failed (%s)", subjectPrefix, site, job, reason)
	var b strings.Builder
	fmt.Fprintf(&b, "An export for site %s failed and will not be retried on its own.\n\n", site)
	field(&b, "Job", job)
	field(&b, "Window", stamp(s.WindowStart)+" to "+stamp(s.WindowEnd))
	field(&b, "Upload attempts", s.Attempts)
	field(&b, "Reason", reason)
	field(&b, "Gave up", stamp(s.At))
	if s.Missed > 0 {
		field(&b, "Missed while down", plural(s.Missed, "earlier run")+" (not run: superseded by this one)")
	}
	b.WriteString("\nThis is the one notice for this failure streak: further failures are logged, not mailed, until an export succeeds.\n")
	b.WriteString(privacyNote)
	return Notice{Subject: subject, Body: b.String()}
}

// LineFailure is one rejected line of an inbound file.
type LineFailure struct {
	// Line is the 1-based line number in the file.
	Line int
	// Reason is a machine code, e.g. "missing_app_lid" or "bad_date";
	// free text is replaced by "invalid-reason-code".
	Reason string
}

// ErrorFileSummary is an inbound file moved aside to the error folder:
// what ErrorFileDigest reports.
type ErrorFileSummary struct {
	// Site names the centre the file came from.
	Site string
	// File is the file's original name.
	File string
	// MovedTo is where the file now lies, e.g. "error/cancel_0412.csv".
	MovedTo string
	// Rows counts the file's data rows.
	Rows int
	// Failures lists the rejected lines in file order.
	Failures []LineFailure
	// At is when the file was moved.
	At time.Time
}

// ErrorFileDigest builds the one notice for a file moved to error/: the
// failed line numbers with their reason codes (at most MaxListed).
func ErrorFileDigest(s ErrorFileSummary) Notice {
	site, file := cleanName(s.Site), cleanName(s.File)
	subject := fmt.Sprintf("%s: %s: file %s moved to error (%s failed)", subjectPrefix, site, file,
		plural(len(s.Failures), "line"))
	var b strings.Builder
	fmt.Fprintf(&b, "An inbound file for site %s was rejected and moved aside.\n\n", site)
	field(&b, "File", file)
	field(&b, "Moved to", cleanName(s.MovedTo))
	field(&b, "Rows", s.Rows)
	field(&b, "Failed", len(s.Failures))
	field(&b, "Moved at", stamp(s.At))
	if len(s.Failures) > 0 {
		fmt.Fprintf(&b, "\nFailed lines (%d):\n", len(s.Failures))
		for i, f := range s.Failures {
			if i == MaxListed {
				break
			}
			fmt.Fprintf(&b, "  line %d: %s\n", f.Line, cleanCode(f.Reason))
		}
		more(&b, len(s.Failures))
	}
	b.WriteString(privacyNote)
	return Notice{Subject: subject, Body: b.String()}
}
