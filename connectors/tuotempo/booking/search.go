package booking

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// searchQuery is a searchAvailabilities request, parsed.
type searchQuery struct {
	center             *ws.Center
	from, to           time.Time // start window, UTC instants
	minTime, maxTime   int       // time-of-day window in minutes, -1 none
	resource, activity string
	insurance          string
	n                  int
	loc                *time.Location
}

// parseSearch reads and checks the parameters of searchAvailabilities.
func (s *Service) parseSearch(req *ws.Request) (*searchQuery, error) {
	c, err := s.centerOf(req.Center)
	if err != nil {
		return nil, err
	}
	loc := s.zone(c.LID)
	q := &searchQuery{center: c, loc: loc, minTime: -1, maxTime: -1,
		resource: req.Get("RESOURCE_LID"), activity: req.Get("ACTIVITY_LID"), insurance: req.Get("INSURANCE_LID")}
	n, err := strconv.Atoi(req.Get("AVA_RESULTS_NUMBER"))
	if err != nil || n < 1 || n > s.cfg.MaxResults {
		return nil, ws.Errorf(ws.BadRequest, "AVA_RESULTS_NUMBER", "want a number from 1 to %d", s.cfg.MaxResults)
	}
	q.n = n
	now := s.now().In(loc)
	startDay := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if v := req.Get("AVA_START_DAY"); v != "" {
		d, ok := parseDay(v, loc)
		if !ok {
			return nil, ws.Errorf(ws.BadRequest, "AVA_START_DAY", "want dd/mm/yyyy")
		}
		startDay = d
	}
	endDay := startDay.AddDate(0, 0, 7)
	if v := req.Get("AVA_END_DAY"); v != "" {
		d, ok := parseDay(v, loc)
		if !ok {
			return nil, ws.Errorf(ws.BadRequest, "AVA_END_DAY", "want dd/mm/yyyy")
		}
		endDay = d
	}
	q.from = startDay
	if v := req.Get("AVA_START_TIME"); v != "" {
		m, ok := parseClock(v)
		if !ok {
			return nil, ws.Errorf(ws.BadRequest, "AVA_START_TIME", "want HH:mm")
		}
		q.from = at(startDay, m)
	}
	q.to = endDay.AddDate(0, 0, 1) // the whole end day
	if v := req.Get("AVA_END_TIME"); v != "" {
		m, ok := parseClock(v)
		if !ok {
			return nil, ws.Errorf(ws.BadRequest, "AVA_END_TIME", "want HH:mm")
		}
		q.to = at(endDay, m)
	}
	if !q.to.After(q.from) {
		return nil, ws.Errorf(ws.BadRequest, "AVA_END_DAY", "the search ends before it starts")
	}
	if q.to.Sub(q.from) > 366*24*time.Hour {
		return nil, ws.Errorf(ws.BadRequest, "AVA_END_DAY", "the search spans more than a year")
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"AVA_MIN_TIME", &q.minTime}, {"AVA_MAX_TIME", &q.maxTime}} {
		if v := req.Get(f.name); v != "" {
			m, ok := parseClock(v)
			if !ok {
				return nil, ws.Errorf(ws.BadRequest, f.name, "want HH:mm")
			}
			*f.dst = m
		}
	}
	if nw := s.now(); q.from.Before(nw) {
		q.from = nw.Add(time.Second).Truncate(time.Second) // only slots starting after now
	}
	return q, nil
}

// foundSlot is an index row the search found.
type foundSlot struct {
	id    string
	start int64
}

// findSlots returns up to q.n free slots in start order, the
// time-of-day window applied.
func (s *Service) findSlots(ctx context.Context, q *searchQuery) ([]foundSlot, error) {
	var where []string
	args := []any{}
	where = append(where, "status = 'free'", "start_s >= ?", "start_s < ?")
	args = append(args, q.from.Unix(), q.to.Unix())
	if q.resource != "" {
		where = append(where, "practitioner = ?")
		args = append(args, q.resource)
	} else {
		where = append(where, "practitioner <> ''")
	}
	if q.activity != "" {
		where = append(where, "(acts = '' OR acts LIKE ?)")
		args = append(args, "%,"+likeEscape(q.activity)+",%")
	}
	if len(q.center.Locations) > 0 {
		var ors []string
		for _, l := range q.center.Locations {
			ors = append(ors, "locs LIKE ?")
			args = append(args, "%,"+likeEscape(l)+",%")
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.insurance != "" {
		where = append(where, `(NOT EXISTS (SELECT 1 FROM booking_role_insurance r WHERE r.practitioner = booking_slots.practitioner)
			OR EXISTS (SELECT 1 FROM booking_role_insurance r WHERE r.practitioner = booking_slots.practitioner AND r.insurance = ?))`)
		args = append(args, q.insurance)
	}
	page := max(q.n*2, 100)
	base := "SELECT id, start_s FROM booking_slots WHERE " + strings.Join(where, " AND ")
	var out []foundSlot
	lastStart, lastID := int64(-1), ""
	for len(out) < q.n {
		qs, qa := base, append([]any(nil), args...)
		if lastID != "" {
			qs += " AND (start_s > ? OR (start_s = ? AND id > ?))"
			qa = append(qa, lastStart, lastStart, lastID)
		}
		qs += " ORDER BY start_s, id LIMIT ?"
		qa = append(qa, page)
		rows, err := s.st.DB().QueryContext(ctx, s.st.Rebind(qs), qa...)
		if err != nil {
			return nil, store.Classify("searching free slots", err)
		}
		got := 0
		for rows.Next() {
			var f foundSlot
			if err := rows.Scan(&f.id, &f.start); err != nil {
				rows.Close()
				return nil, store.Classify("searching free slots", err)
			}
			got++
			lastStart, lastID = f.start, f.id
			if q.inWindow(f.start) && len(out) < q.n {
				out = append(out, f)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, store.Classify("searching free slots", err)
		}
		if got < page {
			break
		}
	}
	return out, nil
}

// inWindow applies AVA_MIN_TIME/AVA_MAX_TIME to a start.
func (q *searchQuery) inWindow(start int64) bool {
	if q.minTime < 0 && q.maxTime < 0 {
		return true
	}
	t := time.Unix(start, 0).In(q.loc)
	m := t.Hour()*60 + t.Minute()
	return (q.minTime < 0 || m >= q.minTime) && (q.maxTime < 0 || m < q.maxTime)
}

// likeEscape keeps an id literal in a LIKE pattern: ids have no % or _
// besides _ is not a FHIR id character; "-" and "." are literal already.
func likeEscape(s string) string { return strings.NewReplacer("%", "", "_", "").Replace(s) }

// search answers searchAvailabilities.
func (s *Service) search(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	q, err := s.parseSearch(req)
	if err != nil {
		return nil, err
	}
	found, err := s.findSlots(ctx, q)
	if err != nil {
		return nil, err
	}
	m, err := s.mapping("tuotempo/availability", s.zoneName(q.center.LID))
	if err != nil {
		return nil, err
	}
	params := fhir.NewObject()
	params.Set("resourceType", fhir.NewString("Parameters"))
	var ps []*fhir.Value
	for _, p := range []string{"ACTIVITY_LID", "INSURANCE_LID"} {
		if v := req.Get(p); v != "" {
			o := fhir.NewObject()
			o.Set("name", fhir.NewString(p))
			o.Set("valueString", fhir.NewString(v))
			ps = append(ps, o)
		}
	}
	params.Set("parameter", fhir.NewArray(ps...))
	entry := fhir.NewObject()
	entry.Set("resource", params)
	bundle := fhir.NewObject()
	bundle.Set("resourceType", fhir.NewString("Bundle"))
	bundle.Set("entry", fhir.NewArray(entry))
	res := export.NewStoreResolver(ctx, s.st)
	out := make([]ws.Record, 0, len(found))
	for _, f := range found {
		body, _, err := s.st.GetResource(ctx, "Slot", f.id)
		if err != nil {
			return nil, fmt.Errorf("searching free slots: reading Slot/%s: %w", f.id, err)
		}
		slot, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("searching free slots: decoding Slot/%s: %w", f.id, err)
		}
		rec, err := m.ApplyIn(slot, res, bundle)
		if err != nil {
			s.log.Warn("tuotempo availability not mapped", "slot", f.id, "err", err)
			continue
		}
		if rec != nil {
			out = append(out, toRecord(rec))
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("searching free slots: %w", err)
	}
	return out, nil
}
