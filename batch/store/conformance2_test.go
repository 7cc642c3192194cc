package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testLinkVendorID(t *testing.T, s *Store) {
	ctx := context.Background()
	steps := []struct {
		name                          string
		vendor, typ, fhirID, vendorID string
		want                          error
	}{
		{"first link", "solo", "Patient", "p1", "SPID-1", nil},
		{"same pair again is a no-op", "solo", "Patient", "p1", "SPID-1", nil},
		{"fhir id to another vendor id", "solo", "Patient", "p1", "SPID-2", ErrConflict},
		{"vendor id to another fhir id", "solo", "Patient", "p2", "SPID-1", ErrConflict},
		{"same ids at another vendor", "vsee", "Patient", "p1", "SPID-1", nil},
		{"same ids for another type", "solo", "Appointment", "p1", "SPID-1", nil},
		{"second patient", "solo", "Patient", "p2", "SPID-2", nil},
	}
	for _, st := range steps {
		err := s.InTx(ctx, func(tx *Tx) error { return tx.LinkVendorID(ctx, st.vendor, st.typ, st.fhirID, st.vendorID) })
		if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", st.name, err, st.want)
		}
	}
	lookups := []struct {
		vendor, typ, fhirID, want string
		err                       error
	}{
		{"solo", "Patient", "p1", "SPID-1", nil},
		{"solo", "Patient", "p2", "SPID-2", nil},
		{"vsee", "Patient", "p1", "SPID-1", nil},
		{"vsee", "Patient", "p2", "", ErrNotFound},
		{"tyto", "Patient", "p1", "", ErrNotFound},
	}
	for _, l := range lookups {
		got, err := s.VendorID(ctx, l.vendor, l.typ, l.fhirID)
		if got != l.want || !errors.Is(err, l.err) || (l.err == nil && err != nil) {
			t.Errorf("VendorID(%s,%s,%s) = (%q, %v), want (%q, %v)", l.vendor, l.typ, l.fhirID, got, err, l.want, l.err)
		}
	}
	if got, err := s.FHIRID(ctx, "solo", "Patient", "SPID-2"); got != "p2" || err != nil {
		t.Errorf("FHIRID = (%q, %v), want (p2, nil)", got, err)
	}
	var rows int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM crosswalk`).Scan(&rows); err != nil || rows != 4 {
		t.Errorf("crosswalk rows = %d (%v), want 4", rows, err)
	}
}

func testRememberRequest(t *testing.T, s *Store) {
	ctx := context.Background()
	key := RequestKey("urn:ietf:rfc:3986", "urn:uuid:b1", nil)
	remember := func(key, hash string, status int, resp string) (int, string, bool, error) {
		var st int
		var body []byte
		var dup bool
		err := s.InTx(ctx, func(tx *Tx) (err error) {
			st, body, dup, err = tx.RememberRequest(ctx, key, hash, status, []byte(resp))
			return err
		})
		return st, string(body), dup, err
	}
	type res struct {
		Status int
		Body   string
		Dup    bool
	}
	// A row as stored before body hashes were kept: body_hash NULL.
	legacy := RequestKey("urn:ietf:rfc:3986", "urn:uuid:legacy", nil)
	if _, err := s.db.Exec(s.rebind(`INSERT INTO requests (key, status, response, created_at) VALUES (?, ?, ?, ?)`),
		legacy, 200, []byte(`{"legacy":true}`), s.ts(s.now())); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		key    string
		hash   string
		status int
		resp   string
		want   res
		err    error
	}{
		{"first", key, "h1", 200, `{"first":true}`, res{200, `{"first":true}`, false}, nil},
		{"same key, same body", key, "h1", 201, `{"second":true}`, res{200, `{"first":true}`, true}, nil},
		{"same key, no hash given", key, "", 503, ``, res{200, `{"first":true}`, true}, nil},
		{"same key, other body", key, "h2", 201, `{"third":true}`, res{}, ErrKeyReused},
		{"legacy row, any body", legacy, "h9", 201, `{"new":true}`, res{200, `{"legacy":true}`, true}, nil},
	}
	for _, st := range steps {
		status, body, dup, err := remember(st.key, st.hash, st.status, st.resp)
		if !errors.Is(err, st.err) || (st.err == nil && err != nil) {
			t.Fatalf("%s: error %v, want %v", st.name, err, st.err)
		}
		if d := cmp.Diff(st.want, res{status, body, dup}); d != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, d)
		}
	}
	lookups := []struct {
		key, hash string
		status    int
		body      string
		err       error
	}{
		{key, "h1", 200, `{"first":true}`, nil},
		{key, "", 200, `{"first":true}`, nil},
		{key, "h2", 0, "", ErrKeyReused},
		{legacy, "h2", 200, `{"legacy":true}`, nil},
		{"sha256:none", "h1", 0, "", ErrNotFound},
	}
	for _, l := range lookups {
		st, body, err := s.Request(ctx, l.key, l.hash)
		if st != l.status || string(body) != l.body || !errors.Is(err, l.err) || (l.err == nil && err != nil) {
			t.Errorf("Request(%s, %s) = (%d, %s, %v), want (%d, %s, %v)", l.key, l.hash, st, body, err, l.status, l.body, l.err)
		}
	}
	// A reused key's error names neither the key (a sender's message id)
	// nor the hashes.
	ck := RequestKey("urn:sys", canary, nil)
	if _, _, _, err := remember(ck, "hash-a", 200, "x"); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := remember(ck, "hash-b", 200, "y")
	if !errors.Is(err, ErrKeyReused) {
		t.Fatalf("reused canary key: %v, want ErrKeyReused", err)
	}
	noCanary(t, err)
	if strings.Contains(err.Error(), "hash-") {
		t.Errorf("reused-key error quotes a hash: %v", err)
	}
	// Concurrent first posts of one key: one stores, the rest see it.
	key2 := RequestKey("", "", []byte(`{"resourceType":"Bundle"}`))
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 8 {
		wg.Go(func() {
			err := s.InTx(ctx, func(tx *Tx) error {
				_, _, dup, err := tx.RememberRequest(ctx, key2, "", 200, []byte("r"))
				if err == nil && !dup {
					mu.Lock()
					firsts++
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				t.Errorf("concurrent RememberRequest: %v", err)
			}
		})
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d callers stored the request, want 1", firsts)
	}
}

var errBoom = errors.New("boom")

func testRollback(t *testing.T, s *Store) {
	ctx := context.Background()
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, _, err := tx.PutResource(ctx, "Patient", "rb", []byte(`{"resourceType":"Patient"}`)); err != nil {
			return err
		}
		if _, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", "1", "rb"); err != nil {
			return err
		}
		if err := tx.LinkVendorID(ctx, "solo", "Patient", "rb", "SPID-rb"); err != nil {
			return err
		}
		if _, _, _, err := tx.RememberRequest(ctx, "k-rb", "", 200, []byte("x")); err != nil {
			return err
		}
		if _, err := tx.LogMessage(ctx, Message{Direction: In, Kind: "bundle", Status: StatusAccepted}); err != nil {
			return err
		}
		if _, _, err := tx.GetResource(ctx, "Patient", "rb"); err != nil {
			return err // visible inside the transaction
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic inside InTx was swallowed")
			}
		}()
		_ = s.InTx(ctx, func(tx *Tx) error {
			_, _, _ = tx.PutResource(ctx, "Patient", "rb-panic", []byte(`{}`))
			panic("fn panicked")
		})
	}()
	for _, table := range []string{"resources", "resource_versions", "identifiers", "crosswalk", "requests", "messages"} {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows (%v) after rollback, want 0", table, n, err)
		}
	}
}

func testMessages(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	in := []Message{
		{At: t0, Direction: In, Kind: "bundle-transaction", Status: StatusAccepted, Outcome: "200", Body: []byte(`{"n":"` + canary + `"}`)},
		{At: t0.Add(time.Second), Direction: Out, Kind: "solo.patient.create", ResourceType: "Patient", ResourceID: "p1", Vendor: "solo", Status: StatusPending},
		{At: t0.Add(2 * time.Second), Direction: Out, Kind: "solo.appointment.create", ResourceType: "Appointment", ResourceID: "a1", Vendor: "solo", Status: StatusPending},
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		for i := range in {
			id, err := tx.LogMessage(ctx, in[i])
			if err != nil {
				return err
			}
			in[i].ID = id
		}
		if err := tx.SetMessageStatus(ctx, in[1].ID, StatusDelivered, "201"); err != nil {
			return err
		}
		in[1].Status, in[1].Outcome = StatusDelivered, "201"
		if err := tx.SetMessageStatus(ctx, -1, StatusDelivered, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetMessageStatus(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := tx.LogMessage(ctx, Message{Direction: "sideways"}); err == nil {
			t.Error("LogMessage accepted a bad direction")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		filter MessageFilter
		want   []Message
	}{
		{"all", MessageFilter{}, in},
		{"outbound", MessageFilter{Direction: Out}, in[1:]},
		{"by resource", MessageFilter{ResourceType: "Appointment", ResourceID: "a1"}, in[2:]},
		{"by status", MessageFilter{Status: StatusDelivered, Vendor: "solo"}, in[1:2]},
		{"time window", MessageFilter{Since: t0.Add(time.Second), Until: t0.Add(2 * time.Second)}, in[1:2]},
		{"limit", MessageFilter{Limit: 2}, in[:2]},
		{"none", MessageFilter{Kind: "nope"}, nil},
	}
	for _, c := range cases {
		got, err := s.Messages(ctx, c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}
