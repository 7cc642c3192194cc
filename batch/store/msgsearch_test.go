package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// testSearchMessages checks every filter of SearchMessages, keyset paging
// through ties on the time, and the links an inbound message keeps.
func testSearchMessages(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var ids []int64 // by insertion; at grows every 3 messages (ties)
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", "MRN-CANARY-1", "p1"); err != nil {
			return err
		}
		if err := tx.LinkVendorID(ctx, "solo", "Appointment", "a1", "V-77"); err != nil {
			return err
		}
		for i := range 30 {
			m := Message{At: t0.Add(time.Duration(i/3) * time.Minute), Direction: Out, Kind: "solo.create",
				ResourceType: "Appointment", ResourceID: fmt.Sprintf("a%d", i%5), Vendor: "solo",
				Status: StatusDelivered, Outcome: "ok", JobID: int64(100 + i), StatusCode: 201, Elapsed: 1500 * time.Microsecond}
			switch {
			case i%10 == 0:
				m = Message{At: m.At, Direction: In, Kind: "fhir.transaction", Status: StatusAccepted, Outcome: "stored",
					Identifier: fmt.Sprintf("BUNDLE-%d", i), Body: []byte("{}"),
					Resources: []MessageResource{{"Patient", "p1", 1 + i/10}, {"Appointment", "a9", 1}}}
			case i%7 == 0:
				m.Status, m.Vendor, m.Kind = StatusDeadLetter, "tyto", "tyto.create"
			}
			id, err := tx.LogMessage(ctx, m)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	pick := func(keep func(i int) bool) []int64 {
		var out []int64
		for j := len(ids) - 1; j >= 0; j-- {
			if keep(j) {
				out = append(out, ids[j])
			}
		}
		return out
	}
	isIn := func(i int) bool { return i%10 == 0 }
	isDead := func(i int) bool { return !isIn(i) && i%7 == 0 }
	cases := []struct {
		name string
		q    MessageQuery
		want []int64
	}{
		{"all", MessageQuery{}, newestFirst},
		{"direction in", MessageQuery{Direction: In}, pick(isIn)},
		{"status dlq", MessageQuery{Status: StatusDeadLetter}, pick(isDead)},
		{"kind", MessageQuery{Kind: "tyto.create"}, pick(isDead)},
		{"vendor and status", MessageQuery{Vendor: "solo", Status: StatusDelivered}, pick(func(i int) bool { return !isIn(i) && !isDead(i) })},
		{"resource id, out and listed in", MessageQuery{ResourceID: "a9"}, pick(isIn)},
		{"resource id and type", MessageQuery{ResourceType: "Appointment", ResourceID: "a1"},
			pick(func(i int) bool { return !isIn(i) && i%5 == 1 })},
		{"resource type only", MessageQuery{ResourceType: "Appointment", Direction: Out}, pick(func(i int) bool { return !isIn(i) })},
		{"bundle identifier", MessageQuery{Identifier: "BUNDLE-20"}, []int64{ids[20]}},
		{"resource identifier", MessageQuery{Identifier: "urn:mrn|MRN-CANARY-1"}, pick(isIn)},
		{"resource identifier without system", MessageQuery{Identifier: "MRN-CANARY-1"}, pick(isIn)},
		{"unknown identifier", MessageQuery{Identifier: "nobody"}, nil},
		{"job ids", MessageQuery{JobIDs: []int64{101, 104, 999}}, []int64{ids[4], ids[1]}},
		{"vendor id", MessageQuery{VendorID: "V-77"}, pick(func(i int) bool { return !isIn(i) && i%5 == 1 })},
		{"vendor id at another vendor", MessageQuery{VendorID: "V-77", Vendor: "tyto"}, nil},
		{"time range", MessageQuery{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute)},
			pick(func(i int) bool { return i/3 >= 2 && i/3 < 4 })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// pages of 4 cut through the ties of equal times
			var got []int64
			q := c.q
			q.Limit = 4
			for range 20 {
				page, next, err := s.SearchMessages(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 4 {
					t.Fatalf("page of %d, limit 4", len(page))
				}
				for _, m := range page {
					got = append(got, m.ID)
					if m.Body != nil {
						t.Errorf("message %d: a listing carries the body", m.ID)
					}
				}
				if next.IsZero() {
					break
				}
				back, err := ParseMessageCursor(next.String())
				if err != nil || back != next {
					t.Fatalf("cursor %q round trip = %v, %v", next.String(), back, err)
				}
				q.After = back
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("ids %v, want %v", got, c.want)
			}
		})
	}
	// one message, with its body and links
	m, err := s.Message(ctx, ids[1])
	if err != nil || m.JobID != 101 || m.StatusCode != 201 || m.Elapsed != 1500*time.Microsecond || m.Vendor != "solo" {
		t.Errorf("Message = %+v, %v", m, err)
	}
	if _, err := s.Message(ctx, 1<<40); !errors.Is(err, ErrNotFound) {
		t.Errorf("Message of an unknown id: %v, want ErrNotFound", err)
	}
	res, err := s.MessageResources(ctx, ids[10])
	if err != nil || !slices.Equal(res, []MessageResource{{"Appointment", "a9", 1}, {"Patient", "p1", 2}}) {
		t.Errorf("MessageResources = %v, %v", res, err)
	}
	vids, err := s.VendorIDs(ctx, "Appointment", "a1")
	if err != nil || len(vids) != 1 || vids["solo"] != "V-77" {
		t.Errorf("VendorIDs = %v, %v", vids, err)
	}
	// the identifier value is kept only as its hash
	var stored string
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT ident_hash FROM messages WHERE id = ?`), ids[20]).Scan(&stored); err != nil ||
		stored != valueHash("BUNDLE-20") {
		t.Errorf("ident_hash = %q, %v", stored, err)
	}
	// pruning takes the listed resources with their message
	if _, err := s.PruneMessagesBatch(ctx, t0.Add(time.Hour), 1000); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM message_resources`).Scan(&left); err != nil || left != 0 {
		t.Errorf("message_resources after pruning: %d (%v)", left, err)
	}
}

func TestMessageQueryCheck(t *testing.T) {
	long := strings.Repeat("x", maxSearchTerm+1)
	for _, c := range []struct {
		q    MessageQuery
		want string
	}{
		{MessageQuery{}, ""},
		{MessageQuery{Direction: "sideways"}, "direction"},
		{MessageQuery{Identifier: long}, "identifier longer"},
		{MessageQuery{VendorID: long}, "vendor id longer"},
		{MessageQuery{Limit: -1}, "negative"},
		{MessageQuery{JobIDs: []int64{0}}, "positive"},
		{MessageQuery{JobIDs: make([]int64, maxJobIDs+1)}, "more than"},
		{MessageQuery{Since: time.Unix(10, 0), Until: time.Unix(10, 0)}, "not before"},
	} {
		err := c.q.Check()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Check(%+v) = %v, want %q", c.q, err, c.want)
		}
	}
}

func TestParseMessageCursor(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"", true}, {"1700000000000000.42", true}, {"-5.3", true},
		{"42", false}, {"a.b", false}, {"1.0", false}, {"1.-3", false}, {strings.Repeat("9", 65), false},
	} {
		_, err := ParseMessageCursor(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseMessageCursor(%q) = %v, want ok %v", c.in, err, c.ok)
		}
	}
}

// FuzzParseMessageCursor: a cursor comes from a URL; whatever it is, the
// parser answers without panicking, and what it accepts prints back to a
// cursor that parses to the same position.
func FuzzParseMessageCursor(f *testing.F) {
	for _, s := range []string{"", "1.1", "1700000000000000.42", "x.y", "..", "-1.-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseMessageCursor(s)
		if err != nil {
			return
		}
		back, err := ParseMessageCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("%q: %v round trips to %v, %v", s, c, back, err)
		}
	})
}

// testSearchWindows pages a filtered listing over messages spread across
// days, so that it walks many time windows; with no time budget at all
// every window answers at once with what it found, and paging still
// reaches every match, in order, once.
func testSearchWindows(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var want []int64
	err := s.InTx(ctx, func(tx *Tx) error {
		for i := range 60 {
			st := StatusDelivered
			if i%7 == 0 {
				st = StatusDeadLetter
			}
			id, err := tx.LogMessage(ctx, Message{At: t0.Add(time.Duration(i) * 5 * time.Hour), Direction: Out,
				Kind: "f", Vendor: "v", Status: st})
			if err != nil {
				return err
			}
			if st == StatusDeadLetter {
				want = append([]int64{id}, want...)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []time.Duration{time.Hour, 0} {
		saved := searchBudget
		searchBudget = budget
		var got []int64
		q := MessageQuery{Status: StatusDeadLetter, Kind: "f", Limit: 3}
		for range 500 {
			page, next, err := s.SearchMessages(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.ID)
			}
			if next.IsZero() {
				break
			}
			q.After = next
		}
		searchBudget = saved
		if !slices.Equal(got, want) {
			t.Errorf("budget %v: ids %v, want %v", budget, got, want)
		}
	}
}
