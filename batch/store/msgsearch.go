package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of a message search.
const (
	// DefaultMessagePage is the page size when MessageQuery.Limit is 0.
	DefaultMessagePage = 50
	// MaxMessagePage caps MessageQuery.Limit.
	MaxMessagePage = 500
	// maxResolved caps the resources an identifier or vendor id resolves
	// to (an identifier names one resource per type, a vendor id one per
	// vendor and type, so more means a malformed crosswalk).
	maxResolved = 50
	// maxListed caps the inbound messages a resource search finds (the
	// newest of each resource, in turn): a resource stored by every
	// Bundle of a feed would otherwise make the list of ids unbounded.
	maxListed = 1000
	// firstWindow is the first time window of a filtered listing's walk
	// back in time (see searchWindows).
	firstWindow = time.Hour
	// maxJobIDs caps MessageQuery.JobIDs.
	maxJobIDs = 100
	// maxSearchTerm bounds every text field of a MessageQuery.
	maxSearchTerm = 256
)

// MessageQuery selects messages for a listing: newest first, one page at
// a time, paged by keyset ([MessageCursor]), never by offset. Zero fields
// match everything.
type MessageQuery struct {
	// Direction keeps In or Out messages only.
	Direction Direction
	// Kind (the source: "bundle-transaction", a flow, …), Status and
	// Vendor match exactly.
	Kind, Status, Vendor string
	// ResourceID finds the messages about a resource: outbound messages
	// naming it and inbound messages that stored it. ResourceType, when
	// set, narrows it to that type; alone, it matches the messages whose
	// own resource has that type (deliveries, single-resource requests).
	ResourceType, ResourceID string
	// VendorID is a vendor's id of one of our resources (any vendor, or
	// Vendor when set), resolved through the crosswalk to the resource.
	VendorID string
	// Identifier is an identifier value, or "system|value": it finds the
	// inbound Bundle with that Bundle.identifier value (the whole text, or
	// what follows the first '|') and the messages about the resources
	// holding it as one of their identifiers.
	Identifier string
	// JobIDs keeps the outbound messages of these delivery jobs (at most
	// maxJobIDs): a job's attempts.
	JobIDs []int64
	// Since and Until bound At: Since <= At < Until.
	Since, Until time.Time
	// After continues a listing after (older than) this cursor.
	After MessageCursor
	// Limit is the page size (0: DefaultMessagePage; at most MaxMessagePage).
	Limit int
}

// MessageCursor is the position after a message in a listing: its time
// and id. The zero cursor is the start.
type MessageCursor struct {
	At time.Time
	ID int64
}

// IsZero reports whether c is the start of a listing.
func (c MessageCursor) IsZero() bool { return c.ID == 0 }

// String encodes c for a URL: "<unix microseconds>.<id>", "" for the start.
func (c MessageCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseMessageCursor decodes what [MessageCursor.String] made; "" is the
// start.
func ParseMessageCursor(s string) (MessageCursor, error) {
	if s == "" {
		return MessageCursor{}, nil
	}
	if len(s) > 64 {
		return MessageCursor{}, errors.New("page cursor: longer than 64 characters")
	}
	at, id, ok := strings.Cut(s, ".")
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return MessageCursor{}, errors.New("page cursor: want <microseconds>.<id>")
	}
	return MessageCursor{At: time.UnixMicro(us).UTC(), ID: n}, nil
}

// Check reports the first malformed field of q.
func (q MessageQuery) Check() error {
	if q.Direction != "" && q.Direction != In && q.Direction != Out {
		return fmt.Errorf("message search: direction must be %q or %q", In, Out)
	}
	for _, f := range []struct{ name, v string }{
		{"kind", q.Kind}, {"status", q.Status}, {"vendor", q.Vendor}, {"resource type", q.ResourceType},
		{"resource id", q.ResourceID}, {"vendor id", q.VendorID}, {"identifier", q.Identifier},
	} {
		if len(f.v) > maxSearchTerm {
			return fmt.Errorf("message search: %s longer than %d bytes", f.name, maxSearchTerm)
		}
	}
	if q.Limit < 0 {
		return errors.New("message search: negative page size")
	}
	if len(q.JobIDs) > maxJobIDs {
		return fmt.Errorf("message search: more than %d job ids", maxJobIDs)
	}
	for _, id := range q.JobIDs {
		if id <= 0 {
			return errors.New("message search: a job id is a positive number")
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return errors.New("message search: the start of the time range is not before its end")
	}
	return nil
}

// resourceRef names a resource; Type "" matches any type.
type resourceRef struct{ Type, ID string }

// SearchMessages returns one page of the messages matching q, newest
// first, without their bodies, and the cursor of the next page (zero when
// this page is the last).
func (s *Store) SearchMessages(ctx context.Context, q MessageQuery) ([]Message, MessageCursor, error) {
	const op = "searching messages"
	if err := q.Check(); err != nil {
		return nil, MessageCursor{}, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultMessagePage
	}
	limit = min(limit, MaxMessagePage)
	var where []string
	var args []any
	add := func(cond string, v ...any) {
		where = append(where, cond)
		args = append(args, v...)
	}
	if q.Direction != "" {
		add("direction = ?", string(q.Direction))
	}
	for _, c := range []struct{ col, v string }{{"kind", q.Kind}, {"status", q.Status}, {"vendor", q.Vendor}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	// a resource, vendor id or identifier matches few messages: one query
	selective := q.ResourceID != "" || q.VendorID != "" || q.Identifier != "" || len(q.JobIDs) > 0
	if len(q.JobIDs) > 0 {
		// "job_id <> 0" lets SQLite use the partial index
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(q.JobIDs)), ", ")
		a := make([]any, len(q.JobIDs))
		for i, id := range q.JobIDs {
			a[i] = id
		}
		add("(job_id IN ("+ph+") AND job_id <> 0)", a...)
	}
	if q.ResourceID != "" {
		cond, a, err := s.resourceCond(ctx, []resourceRef{{q.ResourceType, q.ResourceID}})
		if err != nil {
			return nil, MessageCursor{}, err
		}
		add(cond, a...)
	} else if q.ResourceType != "" {
		add("resource_type = ?", q.ResourceType)
	}
	if q.VendorID != "" {
		refs, err := s.resolveVendorID(ctx, q.Vendor, q.VendorID)
		if err != nil {
			return nil, MessageCursor{}, err
		}
		if len(refs) == 0 {
			return nil, MessageCursor{}, nil
		}
		cond, a, err := s.resourceCond(ctx, refs)
		if err != nil {
			return nil, MessageCursor{}, err
		}
		add(cond, a...)
	}
	if q.Identifier != "" {
		system, value, ok := strings.Cut(q.Identifier, "|")
		if !ok {
			system, value = "", q.Identifier
		}
		refs, err := s.resolveIdentifier(ctx, system, value)
		if err != nil {
			return nil, MessageCursor{}, err
		}
		// a Bundle.identifier value may itself hold '|' (HL7 v2's
		// MSH-3|MSH-4|MSH-10): the whole text is tried as a value too;
		// "ident_hash <> ''" lets SQLite use the partial index
		own := "(ident_hash IN (?, ?) AND ident_hash <> '')"
		hashes := []any{valueHash(value), valueHash(q.Identifier)}
		if len(refs) == 0 {
			add(own, hashes...)
		} else {
			cond, a, err := s.resourceCond(ctx, refs)
			if err != nil {
				return nil, MessageCursor{}, err
			}
			add("("+own+" OR "+cond+")", append(hashes, a...)...)
		}
	}
	if !q.Since.IsZero() {
		add("at >= ?", s.ts(q.Since))
	}
	if !q.Until.IsZero() {
		add("at < ?", s.ts(q.Until))
	}
	if !q.After.IsZero() {
		// at <= ? bounds the index range; the rest breaks ties by id
		at := s.ts(q.After.At)
		add("at <= ? AND (at < ? OR id < ?)", at, at, q.After.ID)
	}
	if selective || len(where) == 0 {
		return s.searchPage(ctx, where, args, limit)
	}
	return s.searchWindows(ctx, q, where, args, limit)
}

// searchBudget is how long a filtered listing walks back in time before
// it answers with what it found (see searchWindows); a variable for tests.
var searchBudget = 120 * time.Millisecond

// messageListColumns are the columns a listing reads (not the body).
const messageListColumns = `SELECT id, at, direction, kind, resource_type, resource_id, vendor, status, outcome,
		job_id, status_code, elapsed_us FROM messages`

// searchPage runs one listing query: the newest limit messages matching
// where, and the cursor after them when there are more.
func (s *Store) searchPage(ctx context.Context, where []string, args []any, limit int) ([]Message, MessageCursor, error) {
	query := messageListColumns
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC LIMIT ?"
	out, err := s.scanMessages(ctx, "searching messages", query, false, append(slices.Clip(args), limit+1)...)
	if err != nil {
		return nil, MessageCursor{}, err
	}
	var next MessageCursor
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = MessageCursor{At: last.At, ID: last.ID}
	}
	return out, next, nil
}

// searchWindows answers a listing filtered by direction, kind, status or
// vendor only. Each of those has an index ordered by time, but a
// combination of them that matches little (a vendor's messages of
// another vendor's flow) would make the database walk one filter's whole
// index. So the search walks back in time windows (the first
// firstWindow long, each next twice as long while the budget allows),
// each an indexed range, and stops when the page is full or before the
// next window would overrun searchBudget: then the page holds
// what was found so far (possibly nothing) and the cursor continues
// from the window's start, so every page answers within the budget and
// paging still reaches every match.
func (s *Store) searchWindows(ctx context.Context, q MessageQuery, where []string, args []any, limit int) ([]Message, MessageCursor, error) {
	const op = "searching messages"
	start := time.Now()
	var newest, oldest time.Time
	err := s.db.QueryRowContext(ctx, `SELECT at FROM messages ORDER BY at DESC LIMIT 1`).Scan(timeCol{&newest})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, MessageCursor{}, nil
	}
	if err != nil {
		return nil, MessageCursor{}, s.classify(op, err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT at FROM messages ORDER BY at LIMIT 1`).Scan(timeCol{&oldest}); err != nil {
		return nil, MessageCursor{}, s.classify(op, err)
	}
	hi := newest.Add(time.Microsecond)
	if !q.After.IsZero() && q.After.At.Before(hi) {
		hi = q.After.At.Add(time.Microsecond) // the keyset condition does the rest
	}
	if !q.Until.IsZero() && q.Until.Before(hi) {
		hi = q.Until
	}
	floor := oldest
	if !q.Since.IsZero() && q.Since.After(floor) {
		floor = q.Since
	}
	var out []Message
	for w := firstWindow; ; {
		began := time.Now()
		lo := hi.Add(-w)
		last := !lo.After(floor)
		cond := append(slices.Clip(where), "at < ?")
		a := append(slices.Clip(args), s.ts(hi))
		if !last {
			cond = append(cond, "at >= ?")
			a = append(a, s.ts(lo))
		}
		page, next, err := s.searchPage(ctx, cond, a, limit-len(out))
		if err != nil {
			return nil, MessageCursor{}, err
		}
		out = append(out, page...)
		if !next.IsZero() {
			return out, next, nil // the page is full, more in this window
		}
		if last {
			return out, MessageCursor{}, nil
		}
		if len(out) == limit {
			// full at the window's end: continue before the last row
			m := out[limit-1]
			return out, MessageCursor{At: m.At, ID: m.ID}, nil
		}
		// the next window is twice as wide when the budget leaves time for
		// it (it may take twice as long), as wide when it leaves time for
		// that; else the page ends here
		took, spent := time.Since(began), time.Since(start)
		switch {
		case spent+2*took <= searchBudget:
			w *= 2
		case spent+took > searchBudget:
			// continue before lo: rows at lo itself were in this window,
			// and every id is at least 1
			return out, MessageCursor{At: lo, ID: 1}, nil
		}
		hi = lo
	}
}

// resourceCond matches the messages about any of refs: outbound ones
// naming the resource, inbound ones that stored it (the newest
// maxListed per resource). The inbound ones' ids are read first, so that
// the condition is a list of values both databases look up by index (an
// IN subquery beside an OR makes PostgreSQL scan the table).
func (s *Store) resourceCond(ctx context.Context, refs []resourceRef) (string, []any, error) {
	var own []string
	var args, listed []any
	for _, r := range refs {
		q := `SELECT message_id FROM message_resources WHERE id = ?`
		qa := []any{r.ID}
		if r.Type == "" {
			own = append(own, "resource_id = ?")
			args = append(args, r.ID)
		} else {
			own = append(own, "(resource_id = ? AND resource_type = ?)")
			args = append(args, r.ID, r.Type)
			q += ` AND type = ?`
			qa = append(qa, r.Type)
		}
		if len(listed) >= maxListed {
			continue
		}
		rows, err := s.db.QueryContext(ctx, s.rebind(q+` ORDER BY message_id DESC LIMIT ?`), append(qa, maxListed-len(listed))...)
		if err != nil {
			return "", nil, s.classify("listing the messages of a resource", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return "", nil, s.classify("listing the messages of a resource", err)
			}
			listed = append(listed, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", nil, s.classify("listing the messages of a resource", err)
		}
	}
	if len(listed) > 0 {
		own = append(own, "id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(listed)), ", ")+")")
		args = append(args, listed...)
	}
	return "(" + strings.Join(own, " OR ") + ")", args, nil
}

// resolveVendorID finds the resources the crosswalk knows by vendorID.
func (s *Store) resolveVendorID(ctx context.Context, vendor, vendorID string) ([]resourceRef, error) {
	q := `SELECT type, fhir_id FROM crosswalk WHERE vendor_id = ?`
	args := []any{vendorID}
	if vendor != "" {
		q += ` AND vendor = ?`
		args = append(args, vendor)
	}
	return s.refs(ctx, "resolving a vendor id", q+` LIMIT ?`, append(args, maxResolved)...)
}

// resolveIdentifier finds the resources holding the identifier value
// (with system, when not "") through the identifier index.
func (s *Store) resolveIdentifier(ctx context.Context, system, value string) ([]resourceRef, error) {
	q := `SELECT type, resource_id FROM identifiers WHERE value_hash = ?`
	args := []any{valueHash(value)}
	if system != "" {
		q += ` AND system = ?`
		args = append(args, system)
	}
	return s.refs(ctx, "resolving an identifier", q+` LIMIT ?`, append(args, maxResolved)...)
}

func (s *Store) refs(ctx context.Context, op, q string, args ...any) ([]resourceRef, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []resourceRef
	for rows.Next() {
		var r resourceRef
		if err := rows.Scan(&r.Type, &r.ID); err != nil {
			return nil, s.classify(op, err)
		}
		out = append(out, r)
	}
	return out, s.classify(op, rows.Err())
}

// scanMessages runs a query selecting the columns of SearchMessages (and
// body last when withBody).
func (s *Store) scanMessages(ctx context.Context, op, q string, withBody bool, args ...any) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var dir string
		var elapsed int64
		dest := []any{&m.ID, timeCol{&m.At}, &dir, &m.Kind, &m.ResourceType, &m.ResourceID,
			&m.Vendor, &m.Status, &m.Outcome, &m.JobID, &m.StatusCode, &elapsed}
		if withBody {
			dest = append(dest, &m.Body)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.classify(op, err)
		}
		m.Direction = Direction(dir)
		m.Elapsed = time.Duration(elapsed) * time.Microsecond
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(op, err)
	}
	return out, nil
}

// Message returns message id with its body, or [ErrNotFound].
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	op := fmt.Sprintf("reading message %d", id)
	out, err := s.scanMessages(ctx, op, `SELECT id, at, direction, kind, resource_type, resource_id, vendor, status,
		outcome, job_id, status_code, elapsed_us, body FROM messages WHERE id = ?`, true, id)
	if err != nil {
		return Message{}, err
	}
	if len(out) == 0 {
		return Message{}, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return out[0], nil
}

// MessageResources returns the resource versions inbound message id
// stored, in type and id order.
func (s *Store) MessageResources(ctx context.Context, id int64) ([]MessageResource, error) {
	op := fmt.Sprintf("listing the resources of message %d", id)
	rows, err := s.db.QueryContext(ctx, s.rebind(
		`SELECT type, id, version FROM message_resources WHERE message_id = ? ORDER BY type, id`), id)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []MessageResource
	for rows.Next() {
		var r MessageResource
		if err := rows.Scan(&r.Type, &r.ID, &r.Version); err != nil {
			return nil, s.classify(op, err)
		}
		out = append(out, r)
	}
	return out, s.classify(op, rows.Err())
}

// VendorIDs returns the ids vendors gave resource typ/id (vendor → id),
// the ids mapped back that a message's stages show.
func (s *Store) VendorIDs(ctx context.Context, typ, id string) (map[string]string, error) {
	op := "listing the vendor ids of a resource"
	rows, err := s.db.QueryContext(ctx, s.rebind(
		`SELECT vendor, vendor_id FROM crosswalk WHERE type = ? AND fhir_id = ? ORDER BY vendor`), typ, id)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var v, vid string
		if err := rows.Scan(&v, &vid); err != nil {
			return nil, s.classify(op, err)
		}
		out[v] = vid
	}
	return out, s.classify(op, rows.Err())
}
