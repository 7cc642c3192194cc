package inbound

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
)

// Span names of an inbound job.
const (
	// SpanPoll is one poll pass: the listing and the files taken.
	SpanPoll = "inbound poll"
	// SpanFile is one file taken, a child of its poll.
	SpanFile = "inbound file"
)

// startPoll starts the span of a poll pass of feed.
func startPoll(ctx context.Context, feed string) (context.Context, trace.Span) {
	return tracing.Tracer().Start(ctx, SpanPoll, trace.WithAttributes(attribute.String("fhirbridge.feed", feed)))
}

// endPoll sets the pass's counts and ends its span.
func endPoll(span trace.Span, rep Report, err error) {
	failed := 0
	for _, f := range rep.Files {
		if f.Err != nil {
			failed++
		}
	}
	span.SetAttributes(attribute.Int("fhirbridge.files", len(rep.Files)), attribute.Int("fhirbridge.files_failed", failed),
		attribute.Int("fhirbridge.waiting", len(rep.Waiting)), attribute.Int("fhirbridge.rejected", len(rep.Rejected)))
	tracing.End(span, err)
}

// startFile gives ctx a request id of the file's own (the delivery jobs
// its rows enqueue carry it) and starts its span. The file is named by a
// hash of its path: a vendor may put patient data in a file name.
func startFile(ctx context.Context, feed, name string) (context.Context, trace.Span) {
	ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	return tracing.Tracer().Start(ctx, SpanFile, trace.WithAttributes(attribute.String("fhirbridge.feed", feed),
		attribute.String("fhirbridge.file", tracing.ShortHash(name))))
}

// endFile sets the file's outcome and counts, keeps the ids for the
// caller's log line (FileReport.LogContext) and ends the span.
func endFile(ctx context.Context, span trace.Span, fr *FileReport) {
	fr.RequestID, fr.SpanContext = logging.RequestID(ctx), span.SpanContext()
	outcome := fr.Outcome
	switch {
	case errors.Is(fr.Err, errElsewhere):
		outcome = "elsewhere"
	case fr.Err != nil:
		outcome = "error"
	case fr.Recovered:
		outcome = "recovered"
	}
	span.SetAttributes(attribute.String("fhirbridge.outcome", outcome), attribute.Int64("fhirbridge.bytes", fr.Size),
		attribute.Int("fhirbridge.rows_ok", fr.RowsOK), attribute.Int("fhirbridge.rows_failed", fr.RowsFailed),
		attribute.Int("fhirbridge.updated", fr.Updated))
	if fr.Err != nil && outcome == "error" {
		// not the error's text: it names the file
		span.SetStatus(codes.Error, "the file was not processed; it is tried again next poll")
	}
	span.End()
}

// LogContext is parent with the file's request id and span context, for
// the line that reports the file (its trace_id and request_id are then
// those of the file's span and of the jobs its rows enqueued).
func (fr FileReport) LogContext(parent context.Context) context.Context {
	ctx := parent
	if fr.RequestID != "" {
		ctx = logging.WithRequestID(ctx, fr.RequestID)
	}
	return tracing.Detached(ctx, fr.SpanContext)
}
