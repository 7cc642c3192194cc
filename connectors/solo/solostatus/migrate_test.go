package solostatus

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestWebhookEventsMigration: a database of the previous schema — events
// in solo_webhook_events (line solostatus at 1), delivery_jobs without the
// data column (delivery at 2) — opened by this code has its events as jobs
// of WebhookFlow (pending and failed due, unknown and dead dead-lettered,
// done delivered), the table gone, and the pending event gets worked; a
// handled event sent again is still a replay.
func TestWebhookEventsMigration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	said := f.appointment(t, "appt-1", true)
	n, _ := strconv.Atoi(said)
	f.sim.SetAppointmentStatus(n, "completed", "")
	past := time.Now().Add(-time.Minute).UnixMicro()
	row := func(hash, id, state string, attempts int, obj string) string {
		return `INSERT INTO solo_webhook_events VALUES ('` + hash + `', '` + id + `', 'appointment:completed', '` + obj + `', '` +
			state + `', ` + strconv.Itoa(attempts) + `, '` + map[bool]string{true: "status 503", false: ""}[state == "failed" || state == "dead"] +
			`', 1, ` + strconv.FormatInt(past, 10) + `)`
	}
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE (line = 'delivery' AND version >= 3) OR (line = 'solostatus' AND version >= 2)`,
		`ALTER TABLE delivery_jobs DROP COLUMN data`,
		`ALTER TABLE delivery_jobs DROP COLUMN owner`,       // delivery 0004, reapplied after 0003
		`ALTER TABLE delivery_jobs DROP COLUMN request_id`,  // delivery 0007
		`ALTER TABLE delivery_jobs DROP COLUMN traceparent`, // delivery 0008
		`DROP TABLE delivery_rate`,
		`CREATE TABLE solo_webhook_events (hash TEXT NOT NULL PRIMARY KEY, event_id TEXT NOT NULL, type TEXT NOT NULL,
			object_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL,
			received_at BIGINT NOT NULL, next_at BIGINT NOT NULL)`,
		row("h1", "evt-pending", "pending", 0, said),
		row("h2", "", "failed", 2, "77"),
		row("h3", "evt-unknown", "unknown", 1, "78"),
		row("h4", "evt-dead", "dead", 10, "79"),
		row("h5", "evt-done", "done", 1, "80"),
	} {
		if _, err := f.st.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("building the previous schema: %v\n%s", err, q)
		}
	}
	f.st.Close()
	st, err := store.Open(ctx, f.reopenURL)
	if err != nil {
		t.Fatalf("opening the previous database: %v", err)
	}
	f.st, f.s.Store = st, st
	var tables int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM solo_webhook_events`).Scan(&tables); err == nil {
		t.Error("solo_webhook_events is still there")
	}
	rows, err := f.s.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Key] = r.State + "/" + r.ObjectID + "/" + strconv.Itoa(r.Attempts)
	}
	want := map[string]string{
		"event:evt-pending": StatePending + "/" + said + "/0",
		"sha256:h2":         StateFailed + "/77/2",
		"event:evt-unknown": StateUnknown + "/78/1",
		"event:evt-dead":    StateDead + "/79/10",
		"event:evt-done":    StateDone + "/80/1",
	}
	if len(got) != len(want) {
		t.Fatalf("jobs %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	// the pending event is worked by the queue
	f.s.Solo = &flaky{Solo: f.s.Solo}
	r, err := delivery.NewRunner(ctx, st, map[string]delivery.Flow{WebhookFlow: f.s.Flow()}, delivery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.stored(t, "Appointment", "appt-1"); a["status"] != "fulfilled" {
		t.Errorf("migrated pending event not worked: status %v", a["status"])
	}
	if fresh, err := f.s.Record(ctx, "other-hash", Event{ID: "evt-done", Type: "appointment:completed", ObjectID: "80"}); err != nil || fresh {
		t.Errorf("a handled event sent again: fresh %v %v, want a replay", fresh, err)
	}
}
