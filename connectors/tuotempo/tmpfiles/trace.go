package tmpfiles

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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

func startPoll(ctx context.Context, job string) (context.Context, trace.Span) {
	return tracing.Tracer().Start(ctx, SpanPoll, trace.WithAttributes(attribute.String("fhirbridge.feed", job)))
}

func endPoll(span trace.Span, rep Report, err error) {
	failed := 0
	for _, f := range rep.Files {
		if f.Err != nil {
			failed++
		}
	}
	span.SetAttributes(attribute.Int("fhirbridge.files", len(rep.Files)), attribute.Int("fhirbridge.files_failed", failed),
		attribute.Int("fhirbridge.waiting", len(rep.Waiting)))
	tracing.End(span, err)
}

// startFile gives ctx a request id of the file's own and starts its span;
// the file is named by a hash of its path, never by the name itself.
func startFile(ctx context.Context, job, name string) (context.Context, trace.Span) {
	ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	return tracing.Tracer().Start(ctx, SpanFile, trace.WithAttributes(attribute.String("fhirbridge.feed", job),
		attribute.String("fhirbridge.file", tracing.ShortHash(name))))
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
		// not the error's text: it names the file
		span.SetStatus(codes.Error, "the file was not processed; it is tried again next poll")
	}
	span.End()
}

// LogContext is parent with the file's request id and span context, for
// the line that reports the file.
func (fr FileReport) LogContext(parent context.Context) context.Context {
	ctx := parent
	if fr.RequestID != "" {
		ctx = logging.WithRequestID(ctx, fr.RequestID)
	}
	return tracing.Detached(ctx, fr.SpanContext)
}
