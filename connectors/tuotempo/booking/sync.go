package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a sync round, the label of fhirbridge_tuotempo_slot_sync_total.
const (
	SyncOK           = "ok"
	SyncUnreachable  = "unreachable"  // network failure, timeout
	SyncUnauthorized = "unauthorized" // 401 or 403
	SyncStatus       = "status"       // another non-2xx answer
	SyncMalformed    = "malformed"    // not a JSON searchset Bundle, or a next link elsewhere
	SyncOversize     = "oversize"     // a page over the body bound
	SyncLimit        = "limit"        // more pages or entries than the bounds
	SyncStore        = "store"        // the store failed
)

// syncLimits bound one pull.
type syncLimits struct {
	page     int   // _count
	pages    int   // pages per round
	entries  int   // entries per round
	body     int64 // bytes per page
	elements int   // JSON values per page
}

var defaultSyncLimits = syncLimits{page: 200, pages: 500, entries: 100_000, body: 16 << 20, elements: 2_000_000}

// syncTxSize bounds the resources stored in one transaction.
const syncTxSize = 200

// SyncResult counts one round of the slot sync.
type SyncResult struct {
	Pages     int // search pages read
	Schedules int // Schedules the EHR returned
	Slots     int // Slots the EHR returned
	Invalid   int // entries left out (no valid id, schedule, start or status)
	Stored    int // new versions stored (Schedules and Slots)
	Kept      int // Slots whose EHR copy lost to a pending write-back
	Removed   int // Slots marked entered-in-error (gone from the EHR's answer)
}

// syncError is a failed round, its kind the metric's outcome.
type syncError struct {
	kind string
	err  error
}

func (e *syncError) Error() string { return "tuotempo slot sync: " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

func syncErrorf(kind, format string, args ...any) error {
	return &syncError{kind, fmt.Errorf(format, args...)}
}

// SyncKind returns the outcome label of a SyncSlotsOnce error (SyncOK for
// nil).
func SyncKind(err error) string {
	var se *syncError
	switch {
	case err == nil:
		return SyncOK
	case errors.As(err, &se):
		return se.kind
	default:
		return SyncStore
	}
}

// Metrics returns the service's collector, for the serve registry:
// fhirbridge_tuotempo_slot_sync_total{outcome}.
func (s *Service) Metrics() prometheus.Collector { return s.syncTotal }

func newSyncCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fhirbridge_tuotempo_slot_sync_total",
		Help: "Rounds of the tuOtempO slot pull from the EHR by outcome (ok, unreachable, unauthorized, status, malformed, oversize, limit, store).",
	}, []string{"outcome"})
}

// SyncSlots is slot source ehr: at once and then every slots.every until
// ctx ends, it pulls the Schedules and Slots of the next slots.days days
// from the EHR's FHIR server (endpoint ep, its bearer token) by the search
//
//	GET {base}/Slot?start=ge{now}&start=lt{now+days}&_include=Slot:schedule&_count={page}
//
// following Bundle.link[relation=next] on the base's own scheme and host,
// and stores what changed (each changed version routed, so the index and
// every route see it) in transactions of at most syncTxSize resources.
//
// The bridge's own bookings win over a stale EHR copy: while a write-back
// job of the flow tuotempo-booking that names a Slot is pending or in
// flight, the EHR's version of that Slot replaces the stored one only
// when the two agree on status or the EHR's meta.lastUpdated is after the
// job was queued (the EHR changed the Slot after our booking, and its
// newer word wins). Once no write-back is pending the EHR is the source
// of truth again; the check runs under the Slot's index row lock, so a
// booking committing meanwhile is seen.
//
// A Slot stored with a start inside the pulled window that the EHR no
// longer returns was removed or moved out by the EHR: it is stored with
// status entered-in-error, which searchAvailabilities never offers and a
// cancellation never frees again (unless a write-back for it is still
// pending; the next round decides). Busy Slots the EHR leaves out are
// marked alike (the EHR's search may list free Slots only; busy and
// entered-in-error are both unbookable); Slots outside the window are
// left as they are. A failed pull stores nothing.
//
// A failed round (EHR unreachable, 401/403, another status, garbage, a
// bound exceeded) is logged by kind, never with content, and counted in
// fhirbridge_tuotempo_slot_sync_total{outcome}; the loop goes on.
func (s *Service) SyncSlots(ctx context.Context, ep *ehr.Endpoint) {
	every := time.Duration(s.cfg.Slots.Every)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r, err := s.SyncSlotsOnce(ctx, ep)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("tuotempo slot sync failed", "kind", SyncKind(err), "err", err)
		default:
			s.log.Info("tuotempo slot sync", "pages", r.Pages, "slots", r.Slots, "schedules", r.Schedules,
				"stored", r.Stored, "kept", r.Kept, "removed", r.Removed, "invalid", r.Invalid)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncSlotsOnce runs one round of the slot pull (see SyncSlots) and
// counts it in the metric.
func (s *Service) SyncSlotsOnce(ctx context.Context, ep *ehr.Endpoint) (SyncResult, error) {
	r, err := s.syncOnce(ctx, ep)
	if ctx.Err() == nil {
		s.syncTotal.WithLabelValues(SyncKind(err)).Inc()
	}
	return r, err
}

func (s *Service) syncOnce(ctx context.Context, ep *ehr.Endpoint) (SyncResult, error) {
	var r SyncResult
	if ep == nil {
		return r, syncErrorf(SyncUnreachable, "no EHR endpoint (the ehr section)")
	}
	base, err := url.Parse(ep.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return r, syncErrorf(SyncUnreachable, "the EHR needs an absolute http(s) base url")
	}
	from := s.now().UTC().Truncate(time.Second)
	to := from.AddDate(0, 0, s.cfg.Slots.Days)
	q := url.Values{}
	q.Add("start", "ge"+from.Format(time.RFC3339))
	q.Add("start", "lt"+to.Format(time.RFC3339))
	q.Set("_include", "Slot:schedule")
	q.Set("_count", strconv.Itoa(s.limits.page))
	first := base.JoinPath("Slot")
	first.RawQuery = q.Encode()

	seen := map[string]bool{} // every Slot id the EHR named, valid or not
	schedules, slots, err := s.pull(ctx, ep, base, first, seen, &r)
	if err != nil {
		return r, err
	}
	// Schedules first: a Slot's index row takes its Schedule's.
	if err := s.storeChunks(ctx, schedules, func(tx *store.Tx, v *fhir.Value) error {
		return s.storeSchedule(ctx, tx, v, &r)
	}); err != nil {
		return r, err
	}
	if err := s.storeChunks(ctx, slots, func(tx *store.Tx, v *fhir.Value) error {
		return s.storeSlot(ctx, tx, v, &r)
	}); err != nil {
		return r, err
	}
	if err := s.removeGone(ctx, from.Unix(), to.Unix(), seen, &r); err != nil {
		return r, err
	}
	return r, nil
}

// pull reads every page of the search, returning its valid Schedules and
// Slots (the last of each id); seen gets the id of every Slot named, so an
// invalid copy does not count as removed.
func (s *Service) pull(ctx context.Context, ep *ehr.Endpoint, base, next *url.URL, seen map[string]bool, r *SyncResult) (schedules, slots []*fhir.Value, err error) {
	client := ep.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	client = connectors.TracedClient(client)
	schIdx, slotIdx := map[string]int{}, map[string]int{}
	entries := 0
	for next != nil {
		if r.Pages >= s.limits.pages {
			return nil, nil, syncErrorf(SyncLimit, "more than %d pages", s.limits.pages)
		}
		r.Pages++
		b, err := s.page(ctx, client, ep, next, r.Pages)
		if err != nil {
			return nil, nil, err
		}
		if b.ResourceType() != "Bundle" {
			return nil, nil, syncErrorf(SyncMalformed, "page %d: not a Bundle", r.Pages)
		}
		cur := next
		next = nil
		if links := b.Get("link"); links != nil && links.Kind == fhir.Array {
			for _, l := range links.Items {
				if l.GetString("relation") != "next" {
					continue
				}
				u, err := url.Parse(l.GetString("url"))
				if err != nil {
					return nil, nil, syncErrorf(SyncMalformed, "page %d: the next link is not a URL", r.Pages)
				}
				u = cur.ResolveReference(u) // relative to the page it came with
				if u.Scheme != base.Scheme || u.Host != base.Host {
					return nil, nil, syncErrorf(SyncMalformed, "page %d: the next link leaves the EHR's host", r.Pages)
				}
				next = u
			}
		}
		ents := b.Get("entry")
		if ents == nil {
			continue
		}
		if ents.Kind != fhir.Array {
			return nil, nil, syncErrorf(SyncMalformed, "page %d: entry is not an array", r.Pages)
		}
		entries += len(ents.Items)
		if entries > s.limits.entries {
			return nil, nil, syncErrorf(SyncLimit, "more than %d entries", s.limits.entries)
		}
		for _, e := range ents.Items {
			res := e.Get("resource")
			if res == nil || res.Kind != fhir.Object {
				r.Invalid++
				continue
			}
			switch res.ResourceType() {
			case "Schedule":
				r.Schedules++
				if !validID(res.GetString("id")) {
					r.Invalid++
					continue
				}
				add(&schedules, schIdx, res)
			case "Slot":
				r.Slots++
				seen[res.GetString("id")] = true
				if !validSlot(res) {
					r.Invalid++
					continue
				}
				add(&slots, slotIdx, res)
			}
		}
	}
	return schedules, slots, nil
}

// add appends res to list, replacing an earlier one of its id.
func add(list *[]*fhir.Value, idx map[string]int, res *fhir.Value) {
	id := res.GetString("id")
	if i, ok := idx[id]; ok {
		(*list)[i] = res
		return
	}
	idx[id] = len(*list)
	*list = append(*list, res)
}

// page GETs one search page and decodes it.
func (s *Service) page(ctx context.Context, client *http.Client, ep *ehr.Endpoint, u *url.URL, n int) (*fhir.Value, error) {
	// the endpoint's authorization: a static token, or a SMART token
	// renewed once when the EHR answers 401
	resp, err := ep.Do(ctx, client, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err == nil {
			req.Header.Set("Accept", "application/fhir+json")
		}
		return req, err
	})
	if err != nil {
		if class, _ := connectors.Classify(err); class == connectors.Reconnect {
			return nil, syncErrorf(SyncUnauthorized, "page %d: %w", n, err)
		}
		return nil, syncErrorf(SyncUnreachable, "page %d: %w", n, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, syncErrorf(SyncUnauthorized, "page %d: the EHR refused our credentials (status %d)", n, resp.StatusCode)
	case resp.StatusCode/100 != 2:
		return nil, syncErrorf(SyncStatus, "page %d: status %d", n, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.limits.body+1))
	if err != nil {
		return nil, syncErrorf(SyncUnreachable, "page %d: reading the answer: %w", n, err)
	}
	if int64(len(body)) > s.limits.body {
		return nil, syncErrorf(SyncOversize, "page %d: the answer is over %d bytes", n, s.limits.body)
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{MaxElements: s.limits.elements})
	if err != nil { // the decoder's message may quote the content: not kept
		if errors.Is(err, fhir.ErrLimit) {
			return nil, syncErrorf(SyncOversize, "page %d: the answer holds over %d JSON values", n, s.limits.elements)
		}
		return nil, syncErrorf(SyncMalformed, "page %d: the answer is not FHIR JSON", n)
	}
	return v, nil
}

// validID reports a FHIR id: 1 to 64 of A-Z a-z 0-9 - and '.'.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// slotStatuses are the Slot.status codes (FHIR R4 slotstatus).
var slotStatuses = map[string]bool{"busy": true, "free": true, "busy-unavailable": true, "busy-tentative": true, "entered-in-error": true}

func validSlot(res *fhir.Value) bool {
	r := slotOf(res)
	return validID(res.GetString("id")) && validID(r.schedule) && slotStatuses[r.status] && r.start > 0 && r.end >= r.start
}

// storeChunks calls fn for each resource, syncTxSize per transaction.
func (s *Service) storeChunks(ctx context.Context, list []*fhir.Value, fn func(*store.Tx, *fhir.Value) error) error {
	for i := 0; i < len(list); i += syncTxSize {
		chunk := list[i:min(i+syncTxSize, len(list))]
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			for _, v := range chunk {
				if err := fn(tx, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return &syncError{SyncStore, err}
		}
	}
	return nil
}

// putCounted stores and routes typ/id, counting a new version.
func (s *Service) putCounted(ctx context.Context, tx *store.Tx, typ, id string, res *fhir.Value, r *SyncResult) error {
	v, changed, err := tx.PutValue(ctx, typ, id, res)
	if err != nil {
		return fmt.Errorf("storing %s/%s: %w", typ, id, err)
	}
	if !changed {
		return nil
	}
	r.Stored++
	if s.router != nil {
		if err := s.router.Route(ctx, tx, typ, id, v, res); err != nil {
			return fmt.Errorf("routing %s/%s: %w", typ, id, err)
		}
	}
	return nil
}

func (s *Service) storeSchedule(ctx context.Context, tx *store.Tx, v *fhir.Value, r *SyncResult) error {
	id := v.GetString("id")
	if err := s.putCounted(ctx, tx, "Schedule", id, v, r); err != nil {
		return err
	}
	if s.router == nil { // keep the index even without an observer
		return observe(ctx, tx, "Schedule", id, v, s.now)
	}
	return nil
}

func (s *Service) storeSlot(ctx context.Context, tx *store.Tx, v *fhir.Value, r *SyncResult) error {
	id := v.GetString("id")
	cur, err := s.lockedSlot(ctx, tx, id)
	if err != nil {
		return err
	}
	if cur != nil && cur.GetString("status") != v.GetString("status") {
		queued, err := pendingWriteBack(ctx, tx, id)
		if err != nil {
			return err
		}
		if queued > 0 && !newerThan(v, queued) {
			r.Kept++
			return nil
		}
	}
	if err := s.putCounted(ctx, tx, "Slot", id, v, r); err != nil {
		return err
	}
	if s.router == nil {
		return observe(ctx, tx, "Slot", id, v, s.now)
	}
	return nil
}

// lockedSlot locks Slot id's index row (PostgreSQL; SQLite has one
// writer) and returns the stored Slot, nil when none.
func (s *Service) lockedSlot(ctx context.Context, tx *store.Tx, id string) (*fhir.Value, error) {
	if !s.st.SingleProcess() {
		var st string
		err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT status FROM booking_slots WHERE id = ? FOR UPDATE`), id).Scan(&st)
		if err != nil && !isNoRows(err) {
			return nil, store.Classify("locking a slot", err)
		}
	}
	return load(ctx, tx, "Slot", id)
}

// pendingWriteBack returns when the newest write-back job naming Slot id
// that is pending or in flight was queued (Unix microseconds), 0 when
// none. Slot ids are FHIR ids: no LIKE wildcards.
func pendingWriteBack(ctx context.Context, tx *store.Tx, id string) (int64, error) {
	var at sql.NullInt64
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT MAX(created_at) FROM delivery_jobs WHERE flow = ? AND state IN (?, ?) AND data LIKE ?`),
		Flow, string(delivery.StatePending), string(delivery.StateInFlight), `%"`+id+`"%`).Scan(&at)
	if err != nil {
		return 0, store.Classify("finding a slot's pending write-back", err)
	}
	return at.Int64, nil
}

// newerThan reports whether res's meta.lastUpdated is after the instant
// us (Unix microseconds).
func newerThan(res *fhir.Value, us int64) bool {
	t, err := time.Parse(time.RFC3339Nano, res.Get("meta").GetString("lastUpdated"))
	return err == nil && t.UnixMicro() > us
}

// removeGone marks entered-in-error the stored Slots starting in [from,
// to) that the EHR did not return.
func (s *Service) removeGone(ctx context.Context, from, to int64, seen map[string]bool, r *SyncResult) error {
	rows, err := s.st.DB().QueryContext(ctx, s.st.Rebind(`SELECT id FROM booking_slots WHERE start_s >= ? AND start_s < ? AND status <> 'entered-in-error'`), from, to)
	if err != nil {
		return &syncError{SyncStore, store.Classify("listing the window's slots", err)}
	}
	var gone []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return &syncError{SyncStore, store.Classify("listing the window's slots", err)}
		}
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return &syncError{SyncStore, store.Classify("listing the window's slots", err)}
	}
	for i := 0; i < len(gone); i += syncTxSize {
		chunk := gone[i:min(i+syncTxSize, len(gone))]
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			for _, id := range chunk {
				cur, err := s.lockedSlot(ctx, tx, id)
				if err != nil {
					return err
				}
				if cur == nil || cur.GetString("status") == "entered-in-error" {
					continue
				}
				queued, err := pendingWriteBack(ctx, tx, id)
				if err != nil {
					return err
				}
				if queued > 0 {
					r.Kept++
					continue
				}
				if err := s.putCounted(ctx, tx, "Slot", id, with(with(cur, "meta", nil), "status", fhir.NewString("entered-in-error")), r); err != nil {
					return err
				}
				if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE booking_slots SET status = 'entered-in-error' WHERE id = ?`), id); err != nil {
					return store.Classify("updating a slot's status", err)
				}
				r.Removed++
			}
			return nil
		})
		if err != nil {
			return &syncError{SyncStore, err}
		}
	}
	if len(gone) > 0 {
		s.log.Info("tuotempo slot sync: slots gone from the EHR", "slots", r.Removed)
	}
	return nil
}
