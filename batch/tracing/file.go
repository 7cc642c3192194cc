package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
)

// FileNotProcessed is the status of a file span whose file failed: not
// the error's text, which names the file.
const FileNotProcessed = "the file was not processed; it is tried again next poll"

// StartFile gives ctx a request id of its own for one file a feed took
// (the delivery jobs its rows enqueue carry it) and starts the file's span
// named spanName, a child of ctx's. The file is named by ShortHash of its
// path, never by the name itself: spans leave the site.
func StartFile(ctx context.Context, spanName, feed, path string) (context.Context, trace.Span) {
	ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	return Tracer().Start(ctx, spanName, trace.WithAttributes(attribute.String("fhirbridge.feed", feed),
		attribute.String("fhirbridge.file", ShortHash(path))))
}

// FileFailed marks a file's span as failed, with FileNotProcessed.
func FileFailed(span trace.Span) { span.SetStatus(codes.Error, FileNotProcessed) }

// FileLogContext is parent with a file's request id and span context,
// for the line that reports the file after its span ended (its trace_id
// and request_id are then those of the file's span and of the jobs its
// rows enqueued). An empty requestID keeps parent's.
func FileLogContext(parent context.Context, requestID string, sc trace.SpanContext) context.Context {
	ctx := parent
	if requestID != "" {
		ctx = logging.WithRequestID(ctx, requestID)
	}
	return Detached(ctx, sc)
}

// StartPoll starts the span named spanName of one poll pass of feed: the
// listing and the files taken, each a StartFile span under it.
func StartPoll(ctx context.Context, spanName, feed string) (context.Context, trace.Span) {
	return Tracer().Start(ctx, spanName, trace.WithAttributes(attribute.String("fhirbridge.feed", feed)))
}

// EndPoll sets a poll pass's counts (files taken, of which failed; files
// waiting to settle; and any extra counts) and ends its span with err.
func EndPoll(span trace.Span, files, failed, waiting int, err error, extra ...attribute.KeyValue) {
	span.SetAttributes(attribute.Int("fhirbridge.files", files), attribute.Int("fhirbridge.files_failed", failed),
		attribute.Int("fhirbridge.waiting", waiting))
	span.SetAttributes(extra...)
	End(span, err)
}
