package tmpfiles

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
)

// Span names of a temporary table job.
const (
	// SpanPoll is one poll pass: the listing and the files taken.
	SpanPoll = "tmpfiles poll"
	// SpanFile is one file taken, a child of its poll.
	SpanFile = "tmpfiles file"
)

// startPoll starts the span of a poll pass (see tracing.StartPoll).
func startPoll(ctx context.Context, job string) (context.Context, trace.Span) {
	return tracing.StartPoll(ctx, SpanPoll, job)
}

// endPoll sets the pass's counts and ends its span.
func endPoll(span trace.Span, rep Report, err error) {
	failed := 0
	for _, f := range rep.Files {
		if f.Err != nil {
			failed++
		}
	}
	tracing.EndPoll(span, len(rep.Files), failed, len(rep.Waiting), err)
}

// startFile gives ctx a request id of the file's own and starts its span
// (see tracing.StartFile).
func startFile(ctx context.Context, feed, name string) (context.Context, trace.Span) {
	return tracing.StartFile(ctx, SpanFile, feed, name)
}

// endFile sets the file's outcome and counts, keeps its ids for the log
// line (FileReport.LogContext) and ends the span.
func endFile(ctx context.Context, span trace.Span, fr *FileReport) {
	fr.RequestID, fr.SpanContext = logging.RequestID(ctx), span.SpanContext()
	outcome := fr.Outcome
	switch {
	case fr.Err != nil:
		outcome = "error"
	case fr.Recovered:
		outcome = "recovered"
	}
	span.SetAttributes(attribute.String("fhirbridge.outcome", outcome),
		attribute.Int("fhirbridge.rows_ok", fr.RowsOK), attribute.Int("fhirbridge.rows_failed", fr.RowsFailed))
	if fr.Err != nil && outcome == "error" {
		tracing.FileFailed(span)
	}
	span.End()
}

// LogContext is parent with the file's request id and span context, for
// the line that reports the file (see tracing.FileLogContext).
func (fr FileReport) LogContext(parent context.Context) context.Context {
	return tracing.FileLogContext(parent, fr.RequestID, fr.SpanContext)
}
