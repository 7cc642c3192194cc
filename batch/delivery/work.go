package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// errWait marks a job that cannot be sent yet (its parent is not
// delivered); it is rescheduled without spending an attempt.
var errWait = errors.New("waiting")

// work makes one attempt at a held job and records the outcome.
func (r *Runner) work(ctx context.Context, c claimed) {
	flow := r.flows[c.Flow]
	if c.requestID != "" { // the attempt's log lines name the request
		ctx = logging.WithRequestID(ctx, c.requestID)
	}
	ctx, span := startAttempt(ctx, c, flow)
	defer span.End()
	log := r.jobLog(c, flow)
	if flow.Work != nil {
		r.doWork(ctx, c, flow, log)
		return
	}
	mctx, mspan := tracing.Tracer().Start(ctx, "map "+c.Flow, trace.WithAttributes(
		attribute.String("fhirbridge.flow", c.Flow), attribute.String("fhirbridge.resource_type", c.ResourceType)))
	d, body, err := r.prepare(mctx, c, flow)
	tracing.End(mspan, err)
	count := func(outcome string) {
		span.SetAttributes(attribute.String("fhirbridge.outcome", outcome))
		r.metrics.attempts.WithLabelValues(flow.Vendor, c.Flow, outcome).Inc()
	}
	if err == nil && d.Body == nil && d.Op != connectors.Cancel {
		err = r.finish(ctx, c, flow, d, nil, connectors.Result{}, "skipped: nothing to send")
		count(outcomeSkipped)
	} else if err == nil {
		actx, cancel := context.WithTimeout(ctx, r.opt.AttemptTimeout)
		var res connectors.Result
		start := time.Now()
		res, err = flow.Connector.Deliver(actx, d)
		c.elapsed = time.Since(start)
		c.statusCode = statusOf(err)
		r.metrics.duration.WithLabelValues(flow.Vendor, c.Flow).Observe(c.elapsed.Seconds())
		cancel()
		logAttempt(ctx, log, c, res, err)
		if err == nil {
			r.cb.success(flow.Vendor)
			count(outcomeDelivered)
			r.metrics.latency.WithLabelValues(flow.Vendor, c.Flow).Observe(
				max(time.Since(time.UnixMicro(c.createdAt)).Seconds(), 0)) // created_at is wall time (Enqueue)
			// the vendor has it: record that even if the attempts are
			// being interrupted meanwhile (see recordCtx)
			rctx, cancel := recordCtx(ctx)
			err = r.finish(rctx, c, flow, d, body, res, "ok")
			cancel()
			if err != nil { // a re-claim after the lease looks it up
				log.WarnContext(ctx, "recording delivery", "err", err)
			}
			return
		} else if ctx.Err() == nil {
			var outcome string
			outcome, err = r.failed(ctx, c, flow, err)
			count(outcome)
		}
	} else if errors.Is(err, errWait) {
		err = r.reschedule(ctx, c, r.opt.Clock().Add(r.opt.WaitDelay), sanitise(err), true)
		count(outcomeWaiting)
	} else if ctx.Err() == nil {
		err = r.deadLetter(ctx, c, flow, err)
		count(outcomeDeadLetter)
	}
	if ctx.Err() != nil { // shutting down: hand the job back, due now
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = r.reschedule(bg, c, r.opt.Clock(), "interrupted by shutdown", false)
	}
	if err != nil {
		log.WarnContext(ctx, "recording delivery outcome", "err", err)
	}
}

// recordCtx is the context that records the outcome of an attempt that
// reached the vendor: ctx's values without its end (a stop that
// interrupts the attempts just after this one succeeded must not lose
// its record), bounded by the time a store write may take.
func recordCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// jobLog is the logger of one attempt at job c: every line names the
// job, flow, vendor and attempt. Its lines are logged with the attempt's
// context (the *Context methods, or logging.Bind), which adds the
// request id stored with the job and the attempt span's trace id.
func (r *Runner) jobLog(c claimed, flow Flow) *slog.Logger {
	return r.log.With("job", c.id, "flow", c.Flow, "vendor", flow.Vendor, "attempt", c.attempts)
}

// logAttempt logs one delivery attempt on the attempt's logger (request
// id and trace from ctx; job, flow, vendor, attempt from log) with the
// resource type/id and the vendor's answer: its id of the record, or the
// error's class and HTTP status. The error text is not logged (it may
// quote a vendor's body).
func logAttempt(ctx context.Context, log *slog.Logger, c claimed, res connectors.Result, err error) {
	attrs := []any{"type", c.ResourceType, "id", c.ResourceID, "duration_ms", c.elapsed.Milliseconds()}
	if err == nil {
		log.InfoContext(ctx, "delivery attempt", append(attrs, "outcome", outcomeDelivered, "vendor_id", res.VendorID)...)
		return
	}
	class, _ := connectors.Classify(err)
	log.WarnContext(ctx, "delivery attempt", append(attrs, "outcome", "failed", "class", class.String(), "status", c.statusCode)...)
}

// startAttempt starts the span of one delivery attempt, a child of the
// span that enqueued the job when its traceparent was stored (so the
// attempt joins the trace of the POST that caused it, however much later
// it runs), else a new trace.
func startAttempt(ctx context.Context, c claimed, flow Flow) (context.Context, trace.Span) {
	if sc := tracing.FromTraceparent(c.trace.String); sc.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return tracing.Tracer().Start(ctx, "deliver "+c.Flow, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("fhirbridge.vendor", flow.Vendor), attribute.String("fhirbridge.flow", c.Flow),
			attribute.Int64("fhirbridge.job_id", c.id), attribute.Int("fhirbridge.attempt", c.attempts),
			attribute.String("fhirbridge.resource_type", c.ResourceType)))
}

// prepare loads the job's resource version, finds the vendor ids it needs
// and maps it. Errors are permanent except errWait and store failures.
func (r *Runner) prepare(ctx context.Context, c claimed, flow Flow) (connectors.Delivery, []byte, error) {
	// the connector dispatches on the kind of record, which is the name of
	// the mapping that built it (solo/patient), not the site's route name
	d := connectors.Delivery{Flow: c.Flow, Key: c.Key(), ResourceType: c.ResourceType, ResourceID: c.ResourceID,
		Fresh: c.attempts == 1}
	if flow.Mapping != nil {
		d.Flow = flow.Mapping.Name()
	}
	res, deleted, err := r.loadVersion(ctx, c.ResourceType, c.ResourceID, c.Version)
	if err != nil {
		return d, nil, err
	}
	if deleted { // see Router.RouteDelete
		form, ok := deletedForm(c.ResourceType, res)
		if !ok || flow.Mapping == nil {
			return d, nil, errDeleteNotExpressible(c.Flow, c.ResourceType, c.ResourceID)
		}
		res = form
	}
	for _, typ := range flow.parentTypes() {
		pid, path := parentRef(res, typ)
		if pid == "" {
			return d, nil, fmt.Errorf("no %s reference to deliver under", typ)
		}
		vid, err := r.st.VendorID(ctx, flow.Vendor, typ, pid)
		if errors.Is(err, store.ErrNotFound) {
			if err := r.arrived(ctx, c, flow, typ, pid, path); err != nil {
				return d, nil, err
			}
			return d, nil, fmt.Errorf("%w for %s/%s to be delivered", errWait, typ, pid)
		} else if err != nil {
			return d, nil, fmt.Errorf("%w: %w", errWait, err)
		}
		if typ == flow.Parent {
			d.Parent = vid
		}
		if d.Parents == nil {
			d.Parents = map[string]string{}
		}
		d.Parents[typ] = vid
	}
	if flow.Mapping == nil { // sent as stored, e.g. a cancelled Appointment back to the EHR
		d.Op, d.Body = connectors.Update, res
		return d, res.JSON(), nil
	}
	d.VendorID, err = r.st.VendorID(ctx, flow.Vendor, c.ResourceType, c.ResourceID)
	cancelled := c.ResourceType == "Appointment" && res.GetString("status") == "cancelled"
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.Op = connectors.Create
		if cancelled { // never sent, now cancelled: nothing to tell the vendor
			return d, nil, nil
		}
	case err != nil:
		return d, nil, fmt.Errorf("%w: %w", errWait, err)
	case cancelled:
		d.Op = connectors.Cancel
	default:
		d.Op = connectors.Update
	}
	resolve := fhir.ResolverFunc(func(ref string) *fhir.Value {
		typ, id := fhir.SplitReference(ref)
		v, _ := r.load(ctx, typ, id, 0)
		return v
	})
	d.Body, err = flow.Mapping.Apply(res, resolve)
	if err != nil {
		return d, nil, fmt.Errorf("mapping %s/%s: %w", c.ResourceType, c.ResourceID, err)
	}
	if d.Body == nil {
		return d, nil, nil
	}
	return d, d.Body.JSON(), nil
}

// arrived returns a permanent error once the job has waited longer than
// flow.ParentWait for a parent typ/id (referenced at path) that is still
// not stored; nil while it may still come, or when the flow sets no bound.
func (r *Runner) arrived(ctx context.Context, c claimed, flow Flow, typ, id, path string) error {
	if flow.ParentWait <= 0 || r.opt.Clock().Sub(time.UnixMicro(c.createdAt)) < flow.ParentWait {
		return nil
	}
	_, _, err := r.st.GetResource(ctx, typ, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s/%s referenced at %s.%s never arrived (waited %s)", typ, id, c.ResourceType, path, flow.ParentWait)
	case err != nil:
		return fmt.Errorf("%w: %w", errWait, err)
	}
	return nil
}

// load returns version (0: current) of typ/id, decoded.
func (r *Runner) load(ctx context.Context, typ, id string, version int) (*fhir.Value, error) {
	v, _, err := r.loadVersion(ctx, typ, id, version)
	return v, err
}

// loadVersion is load, also reporting whether the version is a deletion
// (whose body is the last live one). The current version of a deleted
// resource is not found.
func (r *Runner) loadVersion(ctx context.Context, typ, id string, version int) (v *fhir.Value, deleted bool, err error) {
	if typ == "" || id == "" {
		return nil, false, store.ErrNotFound
	}
	var body []byte
	if version == 0 {
		b, _, err := r.st.GetResource(ctx, typ, id)
		if err != nil {
			return nil, false, err
		}
		body = b
	} else {
		hist, err := r.st.History(ctx, typ, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, false, fmt.Errorf("%w: %w", errWait, err)
		}
		for _, h := range hist {
			if h.Version == version {
				body, deleted = h.Body, h.Deleted
			}
		}
		if body == nil {
			return nil, false, fmt.Errorf("version %d of %s/%s is not stored", version, typ, id)
		}
	}
	v, err = fhir.DecodeString(string(body), fhir.DecodeOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("stored %s/%s is not readable JSON", typ, id)
	}
	return v, deleted, nil
}

// parentTypes lists Parent and Parents without repeats, Parent first.
func (f Flow) parentTypes() []string {
	var out []string
	for _, t := range append([]string{f.Parent}, f.Parents...) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// parentRef returns the id of the first reference to a resource of type
// typ among participant.actor (Appointment), participant.individual
// (Encounter), subject, patient, beneficiary, location.location
// (Encounter) and location (Device), and the element path of that
// reference ("participant[0].actor").
func parentRef(res *fhir.Value, typ string) (id, path string) {
	type ref struct {
		v    *fhir.Value
		path string
	}
	var refs []ref
	if p := res.Get("participant"); p != nil {
		for i, it := range p.Items {
			refs = append(refs, ref{it.Get("actor"), fmt.Sprintf("participant[%d].actor", i)},
				ref{it.Get("individual"), fmt.Sprintf("participant[%d].individual", i)})
		}
	}
	refs = append(refs, ref{res.Get("subject"), "subject"}, ref{res.Get("patient"), "patient"}, ref{res.Get("beneficiary"), "beneficiary"})
	if l := res.Get("location"); l != nil && l.Kind == fhir.Array {
		for i, it := range l.Items {
			refs = append(refs, ref{it.Get("location"), fmt.Sprintf("location[%d].location", i)})
		}
	} else {
		refs = append(refs, ref{l, "location"})
	}
	for _, r := range refs {
		if t, id := fhir.SplitReference(r.v.GetString("reference")); t == typ && id != "" {
			return id, r.path
		}
	}
	return "", ""
}
