package hl7in

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// IdentifierSystem is the system of the Bundle.identifier a message's
// transaction carries; its value is MSH-3|MSH-4|MSH-10, so a message sent
// again is recognised and stored once.
const IdentifierSystem = "urn:fhirbridge:hl7v2:msh-10"

// Translator maps one parsed message to a transaction Bundle. It returns
// (nil, nil) when it does not take the message's trigger event, and an
// error (a *MappingError to say where) when the message cannot be mapped.
// Errors must hold no value of the message.
type Translator interface {
	Translate(msg *hl7v2.Message) (*fhir.Value, error)
}

// TranslatorFunc lets a function be a Translator.
type TranslatorFunc func(msg *hl7v2.Message) (*fhir.Value, error)

// Translate calls f.
func (f TranslatorFunc) Translate(msg *hl7v2.Message) (*fhir.Value, error) { return f(msg) }

// MappingError is a Translator error that knows where in the message the
// problem is.
type MappingError struct {
	// Location is a path such as "PID-7" or "PID-5[1].1" ("" unknown).
	Location string
	// Code is the table 0357 code for ERR-3 (0: CodeDataType).
	Code int
	// Err is the underlying error (value-free).
	Err error
}

func (e *MappingError) Error() string {
	if e.Location == "" {
		return "hl7in: mapping: " + e.Err.Error()
	}
	return "hl7in: mapping: " + e.Location + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *MappingError) Unwrap() error { return e.Err }

// Handler processes messages. Set its fields before the first message;
// do not change them after.
type Handler struct {
	// Translators maps a message type (MSH-9.1, e.g. "ADT") to its
	// Translator; a type with none is rejected (AR).
	Translators map[string]Translator
	// Backend commits the transaction: the same one POST /fhir uses.
	Backend server.Backend
	// Store, when set, is read for the A40 merge (see mergeA40); nil
	// leaves replaced-by entries as mapped.
	Store *store.Store
	// Types are the served resource types (server.DefaultTypes when
	// empty), as for the FHIR endpoint.
	Types []string
	// Parse sets the parser's limits and default character set.
	Parse hl7v2.Options
	// Acker builds the ACKs (clock, control ids).
	Acker hl7v2.Acker
	// Logger gets one line per message (default slog.Default()).
	Logger *slog.Logger
	// Registerer takes the metrics (a private registry when nil).
	Registerer prometheus.Registerer

	initOnce sync.Once
	met      *metrics
}

// Outcome is how one message was answered.
type Outcome struct {
	// Code is the ACK's MSA-1: AA, AE or AR ("" when no ACK is given).
	Code string
	// Type is the message type label (MSH-9.1^MSH-9.2 for known events).
	Type string
	// Replay is true when the message was already committed.
	Replay bool
	// Conflict is true when its control id was committed with another
	// content (Replay is true too).
	Conflict bool
}

// Handle implements mllp.Handler.
func (h *Handler) Handle(ctx context.Context, msg []byte) []byte {
	ack, _ := h.Process(ctx, msg, "mllp")
	return ack
}

// Init prepares the metrics; Process calls it, callers may call it
// first to register them at start.
func (h *Handler) Init() {
	h.initOnce.Do(func() { h.met = newMetrics(h.Registerer) })
}

// Process handles one message that came by transport ("mllp" or "http")
// and returns its encoded ACK (nil when none can be given: ctx ended) and
// the outcome.
func (h *Handler) Process(ctx context.Context, raw []byte, transport string) ([]byte, Outcome) {
	h.Init()
	start := time.Now()
	ctx, span := startReceive(ctx, transport)
	var rc received
	ack, out, why := h.process(ctx, raw, &rc)
	h.met.observe(out, transport, time.Since(start))
	attrs := []slog.Attr{slog.String("transport", transport), slog.String("type", out.Type),
		slog.String("ack", ackLabel(out.Code)), slog.Duration("duration", time.Since(start))}
	if rc.message != "" {
		attrs = append(attrs, slog.String("message", rc.message))
	}
	if rc.mapping != "" {
		attrs = append(attrs, slog.String("mapping", rc.mapping))
	}
	if id, ok := mllp.ConnID(ctx); ok {
		attrs = append([]slog.Attr{slog.Uint64("conn", id)}, attrs...)
	}
	if out.Replay {
		attrs = append(attrs, slog.Bool("replay", true))
	}
	level := slog.LevelInfo
	if why != "" {
		attrs = append(attrs, slog.String("reason", why))
		if out.Code != hl7v2.AckAccept {
			level = slog.LevelWarn
		}
	}
	h.log().LogAttrs(ctx, level, "hl7v2 message", attrs...) // ctx: request_id, trace_id
	endReceive(span, out, rc, why)
	return ack, out
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// maxAttempts bounds the commits of one message when an A40 merge lost a
// race with another update of the merged Patient.
const maxAttempts = 3

// process returns the ACK, the outcome and, when the message was not
// simply accepted, a value-free reason for the log.
func (h *Handler) process(ctx context.Context, raw []byte, rc *received) ([]byte, Outcome, string) {
	msg, err := h.Parse.Parse(raw)
	if err != nil {
		e := &hl7v2.AckError{Code: hl7v2.CodeDataType, Text: "the message could not be parsed"}
		var pe *hl7v2.Error
		if errors.As(err, &pe) {
			e.Loc = pe.Loc
			if errors.Is(err, hl7v2.ErrSyntax) {
				e.Code = hl7v2.CodeSegmentSequence
			}
		}
		ack, aerr := h.Acker.AckForUnparsable(raw, hl7v2.AckErr, e)
		if aerr != nil { // the location does not fit ERR-2: give none
			e.Loc = hl7v2.Path{}
			ack, aerr = h.Acker.AckForUnparsable(raw, hl7v2.AckErr, e)
		}
		code := hl7v2.AckErr
		if aerr == nil {
			code = ackCode(ack)
		}
		return encode(ack, aerr), Outcome{Code: code, Type: "unparsable"}, parseReason(err)
	}
	code, event := msg.Type()
	out := Outcome{Type: typeLabel(h.Translators, code, event)}
	msh := msg.Segment("MSH", 1)
	rc.message, rc.trigger = MessageHash(msh), triggerLabel(event)
	reply := func(c string, e *hl7v2.AckError, why string) ([]byte, Outcome, string) {
		ack, err := h.Acker.Ack(msg, c, e)
		out.Code = c
		return encode(ack, err), out, why
	}
	if !supportedVersion(msg.Version()) {
		return reply(hl7v2.AckReject, &hl7v2.AckError{Loc: hl7v2.Path{Segment: "MSH", Field: 12},
			Code: hl7v2.CodeUnsupportedVersion, Text: "HL7 versions 2.3 to 2.8 are supported"}, "unsupported version")
	}
	tr := h.Translators[code]
	if tr == nil {
		return reply(hl7v2.AckReject, &hl7v2.AckError{Loc: hl7v2.Path{Segment: "MSH", Field: 9},
			Code: hl7v2.CodeUnsupportedType, Text: "this message type is not taken"}, "unsupported message type")
	}
	if n, ok := tr.(named); ok {
		rc.mapping = n.Name()
	}
	if msh.Raw(10) == "" {
		return reply(hl7v2.AckErr, &hl7v2.AckError{Loc: hl7v2.Path{Segment: "MSH", Field: 10},
			Code: hl7v2.CodeRequiredMissing, Text: "MSH-10 (message control id) is required"}, "no control id")
	}
	_, mspan := tracing.Tracer().Start(ctx, SpanMap, trace.WithAttributes(attribute.String("fhirbridge.mapping", rc.mapping)))
	bundle, err := tr.Translate(msg)
	mapped(mspan, bundle, err)
	if err != nil {
		e := &hl7v2.AckError{Code: hl7v2.CodeDataType, Text: "the message could not be mapped to FHIR"}
		var me *MappingError
		if errors.As(err, &me) {
			if me.Code != 0 {
				e.Code = me.Code
			}
			if p, perr := hl7v2.ParsePath(me.Location); perr == nil {
				e.Loc = p
				e.Text = "the message could not be mapped to FHIR at " + p.String()
			}
		}
		if _, aerr := h.Acker.Ack(msg, hl7v2.AckErr, e); aerr != nil {
			e.Code = hl7v2.CodeDataType
		}
		return reply(hl7v2.AckErr, e, "mapping failed")
	}
	if bundle == nil {
		return reply(hl7v2.AckReject, &hl7v2.AckError{Loc: hl7v2.Path{Segment: "MSH", Field: 9, Component: 2},
			Code: hl7v2.CodeUnsupportedEvent, Text: "this trigger event is not taken"}, "unsupported trigger event")
	}
	bundle.Set("identifier", identifier(msh))
	req, oo := server.PrepareTransaction(bundle, h.Types)
	if oo.HasErrors() {
		return reply(hl7v2.AckErr, &hl7v2.AckError{Code: hl7v2.CodeDataType,
			Text: invalidText(oo)}, "mapped Bundle not valid")
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return nil, Outcome{Type: out.Type}, "cancelled"
		}
		_, _, seen, err := h.Backend.Seen(ctx, req.Key, req.BodyHash)
		switch {
		case errors.Is(err, server.ErrKeyReused):
			out.Replay, out.Conflict = true, true
			return reply(hl7v2.AckAccept, nil, "replay conflict: control id already committed with another body; nothing changed")
		case err != nil:
			return h.storeError(ctx, reply, out, err)
		case seen:
			out.Replay = true
			return reply(hl7v2.AckAccept, nil, "")
		}
		r, merged, err := h.mergeA40(ctx, req)
		if err != nil {
			return h.storeError(ctx, reply, out, err)
		}
		r.Source = "hl7v2"
		_, err = h.Backend.Commit(ctx, r)
		switch {
		case err == nil:
			return reply(hl7v2.AckAccept, nil, "")
		case errors.Is(err, server.ErrDuplicate):
			out.Replay = true
			return reply(hl7v2.AckAccept, nil, "")
		case errors.Is(err, server.ErrKeyReused):
			out.Replay, out.Conflict = true, true
			return reply(hl7v2.AckAccept, nil, "replay conflict: control id already committed with another body; nothing changed")
		case errors.Is(err, server.ErrPreconditionFailed) && merged && attempt < maxAttempts:
			continue // the merged Patient changed meanwhile: merge again
		}
		return h.storeError(ctx, reply, out, err)
	}
}

// storeError answers a failed lookup or commit: no ACK when ctx ended,
// else AE 207 with a text by class (nothing was stored).
func (h *Handler) storeError(ctx context.Context, reply func(string, *hl7v2.AckError, string) ([]byte, Outcome, string),
	out Outcome, err error) ([]byte, Outcome, string) {
	if ctx.Err() != nil {
		return nil, Outcome{Type: out.Type}, "cancelled"
	}
	text, why := "the message could not be stored now; send it again", "store error"
	switch {
	case errors.Is(err, server.ErrRefused):
		text, why = "the message was refused by a business rule", "refused"
	case errors.Is(err, server.ErrMultipleMatches):
		text, why = "a conditional update matched more than one resource", "multiple matches"
	case errors.Is(err, server.ErrIDMismatch):
		text, why = "a conditional update matched a resource of another id", "id mismatch"
	case errors.Is(err, server.ErrConflict), errors.Is(err, server.ErrPreconditionFailed):
		why = "conflict"
	case errors.Is(err, server.ErrUnavailable):
		why = "store unavailable"
	}
	return reply(hl7v2.AckErr, &hl7v2.AckError{Code: hl7v2.CodeInternal, Text: text}, why)
}

// identifier returns the Bundle.identifier of a message.
func identifier(msh *hl7v2.Segment) *fhir.Value {
	id := fhir.NewObject()
	id.Set("system", fhir.NewString(IdentifierSystem))
	id.Set("value", fhir.NewString(msh.Raw(3)+"|"+msh.Raw(4)+"|"+msh.Raw(10)))
	return id
}

// supportedVersion reports whether MSH-12.1 is 2.3 to 2.8 (with any
// further release number: 2.3.1, 2.5.1, 2.8.2).
func supportedVersion(v string) bool {
	for _, s := range []string{"2.3", "2.4", "2.5", "2.6", "2.7", "2.8"} {
		if v == s || strings.HasPrefix(v, s+".") {
			return true
		}
	}
	return false
}

// invalidText is the ERR-8 text of a mapped Bundle that fails
// validation: the first problem's FHIR path (value-free by contract).
func invalidText(oo *fhir.OperationOutcome) string {
	text := "the mapped FHIR resources are not valid"
	for _, is := range oo.Issues {
		if len(is.Expression) > 0 {
			t := text + ": " + is.Expression[0]
			if len(t) <= hl7v2.MaxAckText {
				text = t
			}
			break
		}
	}
	return text
}

// parseReason is the log reason of a parse error: its text names a
// location and a kind, never a value.
func parseReason(err error) string {
	var pe *hl7v2.Error
	if errors.As(err, &pe) {
		return "parse failed: " + pe.Error()
	}
	return "parse failed"
}

// encode returns the ER7 of ack, or nil when it could not be built.
func encode(ack *hl7v2.Message, err error) []byte {
	if err != nil || ack == nil {
		return nil
	}
	b, err := ack.Encode()
	if err != nil {
		return nil
	}
	return b
}

// ackCode returns MSA-1 of an ACK.
func ackCode(ack *hl7v2.Message) string {
	v, _ := ack.Get("MSA-1")
	return v
}

func ackLabel(code string) string {
	if code == "" {
		return "none"
	}
	return code
}

// String formats an Outcome for tests and logs.
func (o Outcome) String() string {
	return fmt.Sprintf("%s %s replay=%t", o.Type, ackLabel(o.Code), o.Replay)
}
