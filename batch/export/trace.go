package export

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
)

// Span names of an export run.
const (
	// SpanRun is one export run: select, build, upload, record.
	SpanRun = "export run"
	// SpanBuild is its child that selects, maps and writes the CSV.
	SpanBuild = "export build"
	// SpanUpload is its child that uploads the CSV and its manifest.
	SpanUpload = "export upload"
)

// Outcomes of an export run, the span attribute fhirbridge.outcome.
const (
	RunOK      = "ok"
	RunPartial = "partial" // uploaded; some resources refused
	RunFailed  = "failed"
	RunDry     = "dry_run"
)

// startRun gives ctx a run id as its request id (unless the caller set
// one: the Runner's slot, a command's) and starts the run's span.
func startRun(ctx context.Context, job string, opt RunOptions) (context.Context, trace.Span) {
	if logging.RequestID(ctx) == "" {
		ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	}
	attrs := []attribute.KeyValue{attribute.String("fhirbridge.export", job), attribute.Bool("fhirbridge.dry_run", opt.DryRun),
		attribute.Int("fhirbridge.files", 0)}
	if opt.Slot != "" {
		attrs = append(attrs, attribute.String("fhirbridge.slot", opt.Slot))
	}
	return tracing.Tracer().Start(ctx, SpanRun, trace.WithAttributes(attrs...))
}

// runOutcome names how a run ended.
func runOutcome(res Result, dry bool, err error) string {
	switch {
	case err != nil:
		return RunFailed
	case dry:
		return RunDry
	case res.RefusedCount > 0:
		return RunPartial
	}
	return RunOK
}

// endRun sets the run's counts and outcome and ends its span.
func endRun(span trace.Span, res Result, dry bool, err error) {
	span.SetAttributes(attribute.Int("fhirbridge.records", res.Rows), attribute.Int("fhirbridge.refused", res.RefusedCount),
		attribute.Int("fhirbridge.attempts", res.Attempts), attribute.String("fhirbridge.outcome", runOutcome(res, dry, err)))
	tracing.End(span, err)
}

func startBuild(ctx context.Context) (context.Context, trace.Span) {
	return tracing.Tracer().Start(ctx, SpanBuild)
}

func endBuild(span trace.Span, c *content, err error) {
	if c != nil {
		span.SetAttributes(attribute.Int("fhirbridge.records", c.rows), attribute.Int("fhirbridge.refused", c.nRefuse),
			attribute.Int("fhirbridge.skipped", c.skipped), attribute.Int64("fhirbridge.bytes", c.size))
	}
	tracing.End(span, err)
}

func startUpload(ctx context.Context) (context.Context, trace.Span) {
	return tracing.Tracer().Start(ctx, SpanUpload, trace.WithSpanKind(trace.SpanKindClient))
}

// endUpload records the files uploaded (the CSV, then its manifest) and
// the Put calls made, and ends the span; the run's span gets the file
// count too.
func endUpload(ctx context.Context, span trace.Span, files, attempts int, err error) {
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("fhirbridge.files", files))
	span.SetAttributes(attribute.Int("fhirbridge.files", files), attribute.Int("fhirbridge.attempts", attempts))
	tracing.End(span, err)
}
