package hl7in

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// Span names of the HL7 v2 intake.
const (
	// SpanReceive is the span of one message, from its bytes to its ACK.
	SpanReceive = "hl7v2 receive"
	// SpanMap is its child that maps the message and checks the Bundle.
	SpanMap = "hl7v2 map"
)

// MessageHash is the value of the log and span attribute "message": the
// first 12 hex digits of the SHA-256 of MSH-3|MSH-4|MSH-10 (the
// Bundle.identifier value of the message), so that an operator can follow
// one message through the logs, and a sender's resend of it, without the
// control id itself in them.
func MessageHash(msh *hl7v2.Segment) string {
	if msh == nil {
		return ""
	}
	return tracing.ShortHash(msh.Raw(3) + "|" + msh.Raw(4) + "|" + msh.Raw(10))
}

// received is what the handling of one message learnt for its span and
// log line: value-free labels only.
type received struct {
	message string // MessageHash, "" when unparsable
	trigger string // a KnownEvents entry, "other" or ""
	mapping string // the Translator's name, when it has one
}

// named is a Translator that knows its mapping's name.
type named interface{ Name() string }

// startReceive gives ctx a request id (the caller's, e.g. POST /hl7v2's
// X-Request-Id, or a new one per message) and starts the message's span.
func startReceive(ctx context.Context, transport string) (context.Context, trace.Span) {
	if logging.RequestID(ctx) == "" {
		ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	}
	return tracing.Tracer().Start(ctx, SpanReceive, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("fhirbridge.transport", transport)))
}

// endReceive sets the message's outcome on its span and ends it; an ACK
// other than AA (or none) marks the span as an error, described by the
// value-free reason.
func endReceive(span trace.Span, out Outcome, rc received, why string) {
	attrs := []attribute.KeyValue{attribute.String("fhirbridge.message_type", out.Type),
		attribute.String("fhirbridge.ack", ackLabel(out.Code))}
	if rc.trigger != "" {
		attrs = append(attrs, attribute.String("fhirbridge.trigger", rc.trigger))
	}
	if rc.mapping != "" {
		attrs = append(attrs, attribute.String("fhirbridge.mapping", rc.mapping))
	}
	if rc.message != "" {
		attrs = append(attrs, attribute.String("fhirbridge.message", rc.message))
	}
	if out.Replay {
		attrs = append(attrs, attribute.Bool("fhirbridge.replay", true))
	}
	if why != "" {
		attrs = append(attrs, attribute.String("fhirbridge.reason", why))
	}
	span.SetAttributes(attrs...)
	if out.Code != hl7v2.AckAccept {
		span.SetStatus(codes.Error, why)
	}
	span.End()
}

// triggerLabel is the span's trigger: a known event, else "other", so
// that no sender text is carried.
func triggerLabel(event string) string {
	if KnownEvents[event] {
		return event
	}
	return "other"
}

// mapped ends the mapping span: the entries of the Bundle, or the
// mapping error's location (never its text, which a mapping may build
// from the message).
func mapped(span trace.Span, bundle *fhir.Value, err error) {
	var me *MappingError
	switch {
	case err == nil && bundle == nil:
		span.SetAttributes(attribute.Bool("fhirbridge.event_taken", false))
	case err == nil:
		n := 0
		if e := bundle.Get("entry"); e != nil {
			n = len(e.Items)
		}
		span.SetAttributes(attribute.Int("fhirbridge.entries", n))
	case errors.As(err, &me):
		span.SetAttributes(attribute.String("fhirbridge.location", me.Location))
		span.SetStatus(codes.Error, "mapping failed")
	case err != nil:
		span.SetStatus(codes.Error, "mapping failed")
	}
	span.End()
}
