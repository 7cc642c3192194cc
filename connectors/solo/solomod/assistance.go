package solomod

// The status of assistance requests back onto their Tasks: Solo sends no
// webhook event for assistance requests, so serve polls. Each pass reads
// the stored Tasks that the solo/assistance-request delivery wrote a
// Solo request id (identifier urn:fhirbridge:solo:id) and device
// (extension urn:fhirbridge:solo:device) onto and that are still open,
// asks Solo for the device's current request (GET
// /qapi/v1/request-assistance {"deviceSerialNumber"}), and stores a new
// Task version when something changed:
//
//   - the request is still the device's current one: businessStatus is
//     Solo's status (system urn:fhirbridge:solo:assistance-status), the
//     output entries are the request id, device, care location and
//     timestamps (type system urn:fhirbridge:solo:assistance), the
//     urn:fhirbridge:solo:<name> extensions are brought up to date, and a
//     finishedAt makes the Task completed;
//   - Solo has no current request for the device, or another one: the
//     request is over (finished or cancelled at Solo), so the Task becomes
//     completed with businessStatus "closed".
//
// The new version is routed (routes and observers see it; the
// assistance route sends nothing for a Task already delivered) and, when
// the ehr section is set, written back to the EHR on delivery.EHRFlow, in
// the transaction that stores it.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Assistance configures the status poll of assistance requests.
type Assistance struct {
	// Poll is the interval of the poll of open assistance Tasks (default 30s).
	Poll connectors.Duration `yaml:"poll"`
}

// DefaultAssistancePoll is the poll interval when connectors.solo.assistance.poll is not set.
const DefaultAssistancePoll = 30 * time.Second

func (x *Assistance) fillDefaults() {
	if x.Poll == 0 {
		x.Poll = connectors.Duration(DefaultAssistancePoll)
	}
}

func (x *Assistance) validate() []error {
	if x.Poll < connectors.Duration(time.Second) {
		return []error{fmt.Errorf("%s: at least 1s", key("assistance.poll"))}
	}
	return nil
}

// Identifier and coding systems of what comes back onto a Task.
const (
	AssistanceStatusSystem = "urn:fhirbridge:solo:assistance-status"
	AssistanceOutputSystem = "urn:fhirbridge:solo:assistance"
	// AssistanceClosed is the businessStatus of a request Solo no longer
	// answers as the device's current one.
	AssistanceClosed = "closed"
)

// maxAssistancePerPass bounds the Tasks one pass asks Solo about; the
// rest wait for the next pass.
const maxAssistancePerPass = 500

// closedTask are the Task statuses no longer polled.
var closedTask = []string{"completed", "cancelled", "failed", "rejected", "entered-in-error"}

// openTaskStatuses are the rest of R4's Task.status codes: a pass reads
// only Tasks in them, through the store's status index, so closed Tasks
// piling up over the years do not slow it down.
var openTaskStatuses = []string{"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"}

// AssistancePoller brings the status of assistance requests back onto
// their Tasks.
type AssistancePoller struct {
	Store  *store.Store
	Router *delivery.Router // nil: the new versions are not routed
	Solo   *solo.Connector
	// EHRFlow, when set (delivery.EHRFlow), is the flow on which changed
	// Tasks are written back to the EHR.
	EHRFlow string
	Every   time.Duration
	Log     *slog.Logger
}

// serveAssistance starts the poll of assistance requests.
func serveAssistance(s *Config, app bridge.Root, env *bridge.ServeEnv) error {
	if app != nil && !routesTasks(app.ConfiguredRoutes()) {
		return nil // no Task reaches Solo: nothing to poll
	}
	every := DefaultAssistancePoll
	if s.Assistance != nil {
		every = time.Duration(s.Assistance.Poll)
	}
	conn, err := s.Client()
	if err != nil {
		return err
	}
	p := &AssistancePoller{Store: env.Store, Router: env.Router, Solo: conn, Every: every, Log: env.Log}
	if app != nil && app.EHRConfig() != nil {
		p.EHRFlow = delivery.EHRFlow
	}
	env.GoSingleton("solo/assistance", p.Run)
	return nil
}

// Run polls every p.Every until ctx ends.
func (p *AssistancePoller) Run(ctx context.Context) {
	t := time.NewTicker(p.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := p.Pass(ctx); err != nil && ctx.Err() == nil {
			p.Log.Warn("solo assistance poll", "changed", n, "err", err)
		} else if n > 0 {
			p.Log.Info("solo assistance poll", "changed", n)
		}
	}
}

// openTask is a Task the poll asks Solo about.
type openTask struct{ id, requestID, device string }

// Pass polls once and returns how many Tasks changed. A failed Solo call
// for one Task does not stop the others; the first error is returned.
func (p *AssistancePoller) Pass(ctx context.Context) (int, error) {
	var open []openTask
	err := p.Store.CurrentWhere(ctx, "Task", store.Filter{Statuses: openTaskStatuses}, func(id string, _ int, body []byte) error {
		if len(open) >= maxAssistancePerPass {
			return nil
		}
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil // not ours to judge; it was validated when stored
		}
		if t, ok := pollable(id, v); ok {
			open = append(open, t)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing assistance Tasks: %w", err)
	}
	changed := 0
	var first error
	for _, t := range open {
		req, found, err := p.Solo.CurrentAssistance(ctx, solo.DeviceAddress(t.device))
		if err == nil {
			var ch bool
			ch, err = p.store(ctx, t, req, found)
			if ch {
				changed++
			}
		}
		if err != nil && first == nil {
			first = fmt.Errorf("task %s: %w", t.id, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return changed, first
}

// pollable reports whether Task v is an open, delivered assistance request.
func pollable(id string, v *fhir.Value) (openTask, bool) {
	if slices.Contains(closedTask, v.GetString("status")) {
		return openTask{}, false
	}
	t := openTask{id: id, requestID: identifierValue(v, delivery.WriteBackSystem(solo.Name)), device: extensionValue(v, "urn:fhirbridge:solo:device")}
	return t, t.requestID != "" && t.device != ""
}

// store applies what Solo answered to the current version of the Task
// and stores it when it changed.
func (p *AssistancePoller) store(ctx context.Context, t openTask, req solo.AssistanceRequest, found bool) (bool, error) {
	changed := false
	err := p.Store.InTx(ctx, func(tx *store.Tx) error {
		body, _, err := tx.GetResource(ctx, "Task", t.id)
		if err != nil {
			return fmt.Errorf("reading the Task: %w", err)
		}
		cur, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("reading the Task: %w", err)
		}
		if _, ok := pollable(t.id, cur); !ok { // closed or changed since the pass began
			return nil
		}
		next := ApplyAssistance(cur, req, found)
		version, ch, err := tx.PutValue(ctx, "Task", t.id, next)
		if err != nil || !ch {
			return err
		}
		changed = true
		if p.Router != nil {
			if err := p.Router.Route(ctx, tx, "Task", t.id, version, next); err != nil {
				return fmt.Errorf("routing the Task: %w", err)
			}
		}
		if p.EHRFlow != "" {
			return delivery.Enqueue(ctx, tx, delivery.Job{Flow: p.EHRFlow, ResourceType: "Task", ResourceID: t.id, Version: version})
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("storing the assistance status: %w", err)
	}
	return changed, nil
}

// ApplyAssistance returns task with Solo's answer for its request:
// found and the same request id → businessStatus, output and extensions
// from req (completed once finishedAt is set); otherwise the request is
// over → completed, businessStatus "closed". task is not modified.
func ApplyAssistance(task *fhir.Value, req solo.AssistanceRequest, found bool) *fhir.Value {
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), task.Members...)}
	id := identifierValue(task, delivery.WriteBackSystem(solo.Name))
	if !found || req.ID != id {
		out.Set("status", fhir.NewString("completed"))
		out.Set("businessStatus", codeableConcept(AssistanceStatusSystem, AssistanceClosed))
		return out
	}
	if req.Status != "" {
		out.Set("businessStatus", codeableConcept(AssistanceStatusSystem, req.Status))
	}
	if req.FinishedAt != "" {
		out.Set("status", fhir.NewString("completed"))
	}
	attrs := req.Attributes()
	attrs["id"] = req.ID
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	outputs := make([]*fhir.Value, 0, len(names))
	for _, k := range names {
		e := fhir.NewObject()
		e.Set("type", codeableConcept(AssistanceOutputSystem, k))
		if k == "createdAt" || k == "finishedAt" {
			if _, err := time.Parse(time.RFC3339, attrs[k]); err == nil {
				e.Set("valueDateTime", fhir.NewString(attrs[k]))
				outputs = append(outputs, e)
				continue
			}
		}
		e.Set("valueString", fhir.NewString(attrs[k]))
		outputs = append(outputs, e)
	}
	out.Set("output", fhir.NewArray(outputs...))
	const prefix = "urn:fhirbridge:solo:"
	var exts []*fhir.Value
	if arr := task.Get("extension"); arr != nil && arr.Kind == fhir.Array {
		for _, e := range arr.Items {
			name, ours := strings.CutPrefix(e.GetString("url"), prefix)
			if _, replaced := attrs[name]; !ours || !replaced {
				exts = append(exts, e)
			}
		}
	}
	for _, k := range names {
		if k == "id" {
			continue
		}
		e := fhir.NewObject()
		e.Set("url", fhir.NewString(prefix+k))
		e.Set("valueString", fhir.NewString(attrs[k]))
		exts = append(exts, e)
	}
	out.Set("extension", fhir.NewArray(exts...))
	return out
}

func codeableConcept(system, code string) *fhir.Value {
	c := fhir.NewObject()
	c.Set("system", fhir.NewString(system))
	c.Set("code", fhir.NewString(code))
	cc := fhir.NewObject()
	cc.Set("coding", fhir.NewArray(c))
	cc.Set("text", fhir.NewString(code))
	return cc
}

// identifierValue is the value of v's first identifier of system.
func identifierValue(v *fhir.Value, system string) string {
	if arr := v.Get("identifier"); arr != nil && arr.Kind == fhir.Array {
		for _, it := range arr.Items {
			if it.GetString("system") == system {
				return it.GetString("value")
			}
		}
	}
	return ""
}

// extensionValue is the valueString of v's first extension of url.
func extensionValue(v *fhir.Value, url string) string {
	if arr := v.Get("extension"); arr != nil && arr.Kind == fhir.Array {
		for _, it := range arr.Items {
			if it.GetString("url") == url {
				return it.GetString("valueString")
			}
		}
	}
	return ""
}

// routesTasks reports whether a route sends Tasks to Solo (the assistance
// flow, shipped or a site's copy of its mapping).
func routesTasks(routes []bridge.ConfiguredRoute) bool {
	for _, r := range routes {
		if r.Connector == solo.Name && r.Resource == "Task" {
			return true
		}
	}
	return false
}
