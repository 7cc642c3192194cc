package delivery

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestEHRPushMigration: a database of the release before the one queue —
// the EHR write-back rows in ehr_push (line "ehrpush"), the delivery line
// at version 1 — opened by this code has its unfinished write-backs as
// jobs of the flow "ehr": a pending row pending with its attempts, due
// time and reason, a dead row a dead letter, a resource version queued by
// two callers once; ehr_push and its line are gone.
func TestEHRPushMigration(t *testing.T) {
	ctx := context.Background()
	url := storeURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMicro()
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE line = 'delivery' AND version >= 2`,
		`ALTER TABLE delivery_jobs DROP COLUMN data`,
		`ALTER TABLE delivery_jobs DROP COLUMN owner`,
		`ALTER TABLE delivery_jobs DROP COLUMN traceparent`,
		`ALTER TABLE delivery_jobs DROP COLUMN request_id`,
		`DROP TABLE delivery_rate`,
		`DROP TABLE delivery_flow_rate`,
		`INSERT INTO schema_migrations (line, version, applied_at) VALUES ('ehrpush', 1, '2026-01-01T00:00:00.000000Z')`,
		`CREATE TABLE ehr_push (queue TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
			attempts INTEGER NOT NULL, last_status INTEGER NOT NULL, last_error TEXT NOT NULL, dead INTEGER NOT NULL,
			queued_at BIGINT NOT NULL, next_at BIGINT NOT NULL, PRIMARY KEY (queue, type, id))`,
		`CREATE INDEX ehr_push_due ON ehr_push (queue, dead, next_at)`,
		`INSERT INTO ehr_push VALUES ('tuotempo-cancellations', 'Appointment', 'a1', 2, 3, 503, 'status 503', 0, 1, ` + strconv.FormatInt(due, 10) + `)`,
		`INSERT INTO ehr_push VALUES ('solo-status', 'Appointment', 'a1', 2, 0, 0, '', 0, 1, ` + strconv.FormatInt(due, 10) + `)`,
		`INSERT INTO ehr_push VALUES ('solo-status', 'Encounter', 'e1', 4, 10, 422, 'status 422', 1, 1, 5)`,
	} {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("building the old schema: %v\n%s", err, q)
		}
	}
	st.Close()

	st, err = store.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening the old database: %v", err)
	}
	defer st.Close()
	jobs, err := NewQueue(st).List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		flow, typ, id     string
		state             State
		reason            string
		version, attempts int
		runAt             int64
	}
	got := map[string]job{}
	for _, j := range jobs {
		got[j.ResourceType+"/"+j.ResourceID] = job{j.Flow, j.ResourceType, j.ResourceID, j.State, j.LastError, j.Version, j.Attempts, j.RunAt.UnixMicro()}
	}
	want := map[string]job{
		"Appointment/a1": {EHRFlow, "Appointment", "a1", StatePending, "status 503", 2, 3, due},
		"Encounter/e1":   {EHRFlow, "Encounter", "e1", StateDeadLetter, "status 422", 4, 10, 0},
	}
	if len(jobs) != len(want) {
		t.Errorf("%d jobs, want %d: %+v", len(jobs), len(want), jobs)
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s: %+v, want %+v", k, g, w)
		}
	}
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM ehr_push`).Scan(&n); err == nil {
		t.Error("ehr_push is still there")
	}
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE line = 'ehrpush'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("line ehrpush recorded %d times (%v), want gone", n, err)
	}
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE line = 'delivery'`).Scan(&n); err != nil || n != 8 {
		t.Errorf("line delivery has %d versions (%v), want 8", n, err)
	}
}
