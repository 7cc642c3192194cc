package solomod

// The FHIR Slot search answered from Solo's appointment slots:
//
//	GET /fhir/Slot?schedule=Schedule/<id>&start=ge<date>&start=lt<date>[&status=free]
//
// registered on the FHIR endpoint (server.Options.Searches) when
// connectors.solo.slots is configured. Authentication is the endpoint's,
// as for every other /fhir read.
//
//   - schedule (reference, required, one per search): Schedule/<id>, <id>
//     alone, or an absolute URL ending in Schedule/<id>. Without
//     connectors.solo.slots.schedules, <id> is the Solo id of a waiting
//     room (GET /qapi/v1/waiting-rooms, cached for waiting_rooms_ttl); with
//     it, <id> is a key of that map and the value names the room. An id
//     that names no room matches nothing (an empty searchset).
//   - start (date, required, twice): a lower bound (ge, gt) and an upper
//     bound (lt, le), or one eq value giving both; dates without a time
//     are UTC days. The bounds may be at most max_window apart (default
//     31 days). Other prefixes (ne, sa, eb, ap) are refused.
//   - status (token, optional): Solo lists free slots only, so a search
//     whose status list (codes, or system|code) lacks "free" matches nothing.
//
// Solo is asked for [lower bound, upper bound + one slot) — its slots must
// end by "before" — with the slot duration connectors.solo.slots.duration,
// or the waiting room's own when unset (then the upper bound is widened by
// 24 h, the longest slot Solo allows); the slots whose start satisfies the
// bounds are returned as Slots with status free, schedule
// Schedule/<id>, start and end in UTC, and a stable id
// <start unix>-<seconds>-<schedule id> (a SHA-256 prefix when that
// exceeds 64 characters). Slot ids cannot be read back (GET /fhir/Slot/{id}
// is 404): Slot is search-only.
//
// Errors: bad parameters answer 400 with an OperationOutcome; Solo
// unreachable, timing out, rate-limiting or refusing the key answer 503
// with Retry-After; other Solo refusals 500.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// serveSlots registers the Slot search when connectors.solo.slots is set.
func serveSlots(s *Config, conn *solo.Connector, env *bridge.ServeEnv) error {
	if s.Slots == nil {
		return nil
	}
	ss := &slotSearch{
		cfg:   *s.Slots,
		rooms: solo.NewRoomCache(conn.WaitingRooms, time.Duration(s.Slots.WaitingRoomsTTL), nil),
		slots: conn.AppointmentSlots,
		log:   env.Log,
	}
	if env.Server.Searches == nil {
		env.Server.Searches = map[string]server.Searcher{}
	}
	env.Server.Searches["Slot"] = ss.searcher()
	return nil
}

// slotSearch answers Slot searches from Solo.
type slotSearch struct {
	cfg   Slots
	rooms *solo.RoomCache
	slots func(context.Context, solo.SlotQuery) ([]solo.Slot, error)
	log   *slog.Logger
}

// searcher declares the parameters (as the CapabilityStatement shows them).
func (ss *slotSearch) searcher() server.Searcher {
	sched := "Schedule/<id>: the Solo waiting room whose id is <id>; one schedule per search"
	if len(ss.cfg.Schedules) > 0 {
		sched = "Schedule/<id>: the Solo waiting room that the bridge's schedules map names for <id>; one schedule per search"
	}
	return server.Searcher{
		Params: []server.SearchParam{
			{Name: "schedule", Type: "reference", Required: true, Documentation: sched},
			{Name: "start", Type: "date", Required: true, Repeat: 2, Documentation: "a lower bound (ge, gt) and an upper bound (lt, le), or one eq value; at most " +
				time.Duration(ss.cfg.MaxWindow).String() + " apart; dates without a time are UTC"},
			{Name: "status", Type: "token", Documentation: "Solo lists free slots only: without free in the list nothing matches"},
		},
		Search: ss.search,
	}
}

// badSearch is a 400 whose OperationOutcome carries the fixed text diag.
func badSearch(diag string) error {
	return fmt.Errorf("%w: %w", server.ErrInvalidSearch, (*fhir.OperationOutcome)(nil).Add(fhir.CodeValue, "", diag))
}

// search is the server.SearchFunc.
func (ss *slotSearch) search(ctx context.Context, q url.Values) ([]*fhir.Value, error) {
	id, err := scheduleID(q.Get("schedule"))
	if err != nil {
		return nil, err
	}
	from, to, err := startBounds(q["start"])
	if err != nil {
		return nil, err
	}
	if max := time.Duration(ss.cfg.MaxWindow); to.Sub(from) > max {
		return nil, badSearch("the start bounds are more than " + max.String() + " apart")
	}
	if st := q.Get("status"); st != "" && !slices.ContainsFunc(strings.Split(st, ","), func(tok string) bool {
		code := tok // code, or system|code
		if i := strings.LastIndexByte(tok, '|'); i >= 0 {
			code = tok[i+1:]
		}
		return code == "free"
	}) {
		return nil, nil
	}
	room, ok, err := ss.room(ctx, id)
	if err != nil || !ok || !to.After(from) {
		return nil, err
	}
	dur := time.Duration(ss.cfg.Duration)
	widen := dur
	if dur == 0 {
		widen = 24 * time.Hour
	}
	after := from.Truncate(time.Second)
	slots, err := ss.slots(ctx, solo.SlotQuery{After: after, Before: to.Add(widen), WaitingRoom: room, Duration: dur})
	if err != nil {
		return nil, vendorSearchError(err)
	}
	var out []*fhir.Value
	for _, s := range slots {
		if !s.Start.Before(from) && s.Start.Before(to) {
			out = append(out, slotResource(id, s))
		}
	}
	return out, nil
}

// room resolves a schedule id to a waiting room name; ok=false when it
// names none.
func (ss *slotSearch) room(ctx context.Context, id string) (string, bool, error) {
	var (
		r   solo.WaitingRoom
		ok  bool
		err error
	)
	if len(ss.cfg.Schedules) > 0 {
		name, listed := ss.cfg.Schedules[id]
		if !listed {
			return "", false, nil
		}
		if r, ok, err = ss.rooms.ByName(ctx, name); err == nil && !ok {
			ss.log.Warn("slot search: a configured schedule names no Solo waiting room", "schedule", id)
		}
	} else {
		r, ok, err = ss.rooms.ByID(ctx, id)
	}
	if err != nil {
		return "", false, vendorSearchError(err)
	}
	return r.Name, ok, nil
}

// vendorSearchError maps a classified Solo error to the search contract.
func vendorSearchError(err error) error {
	if c, _ := connectors.Classify(err); c == connectors.Transient || c == connectors.Reconnect {
		return fmt.Errorf("%w: %w", server.ErrUnavailable, err)
	}
	return err
}

// scheduleID reads a schedule reference: Schedule/<id>, <id>, or a URL
// ending in Schedule/<id>.
func scheduleID(ref string) (string, error) {
	if strings.Contains(ref, ",") {
		return "", badSearch("one schedule per search")
	}
	id := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		typ := ref[:i]
		if j := strings.LastIndex(typ, "/"); j >= 0 {
			typ = typ[j+1:]
		}
		if typ != "Schedule" {
			return "", badSearch("schedule must reference a Schedule (Schedule/<id>)")
		}
		id = ref[i+1:]
	}
	if !fhir.ValidID(id) {
		return "", badSearch("the schedule id is not a valid FHIR id")
	}
	return id, nil
}

// startBounds combines the start values into [from, to); both sides are
// required.
func startBounds(vals []string) (from, to time.Time, err error) {
	for _, v := range vals {
		p, err := server.ParseDateParam(v, time.UTC)
		if err != nil {
			return from, to, badSearch("start: " + err.Error())
		}
		lo, hi, ok := p.Bounds()
		if !ok {
			return from, to, badSearch("start: only the prefixes eq, ge, gt, lt and le are supported")
		}
		if !lo.IsZero() && lo.After(from) {
			from = lo
		}
		if !hi.IsZero() && (to.IsZero() || hi.Before(to)) {
			to = hi
		}
	}
	if from.IsZero() || to.IsZero() {
		return from, to, badSearch("start needs a lower bound (ge, gt) and an upper bound (lt, le), e.g. start=ge2024-05-01&start=lt2024-05-08")
	}
	return from, to, nil
}

// slotResource renders one Solo slot as a FHIR Slot.
func slotResource(schedule string, s solo.Slot) *fhir.Value {
	secs := int64(s.Duration / time.Second)
	id := strconv.FormatInt(s.Start.Unix(), 10) + "-" + strconv.FormatInt(secs, 10) + "-" + schedule
	if len(id) > 64 {
		sum := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(sum[:])[:40]
	}
	v := fhir.NewObject()
	v.Set("resourceType", fhir.NewString("Slot"))
	v.Set("id", fhir.NewString(id))
	ref := fhir.NewObject()
	ref.Set("reference", fhir.NewString("Schedule/"+schedule)) // a FHIR reference, not a URL path
	v.Set("schedule", ref)
	v.Set("status", fhir.NewString("free"))
	v.Set("start", fhir.NewString(s.Start.UTC().Format(time.RFC3339)))
	v.Set("end", fhir.NewString(s.Start.Add(s.Duration).UTC().Format(time.RFC3339)))
	return v
}
