package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solostatus"
)

// The packages whose lines the tests check; imported for their
// registration and so that a line leaving the build fails here.
var (
	_ = delivery.Enqueue
	_ = export.Run
	_ = ledger.Record
	_ = solostatus.StateDone
)

// wantLines is every line this test binary registers, with its latest
// version; a new migration must be added here (and to legacyTables when
// it takes over a table).
var wantLines = map[string]int{
	store.StoreLine: 7,
	"cluster":       1, // linked in by batch/delivery
	"delivery":      8,
	"export":        2,
	"ledger":        2,
	"solostatus":    2,
}

// legacyTables is the schema the commit before migration lines (5540bcb)
// created outside any migration, copied from its Init functions, for
// dialect: each table with its old CREATE statements and one row.
func legacyTables(dialect string) []legacyTable {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if dialect == "postgres" {
		id = "BIGSERIAL PRIMARY KEY"
	}
	return []legacyTable{
		{"delivery_jobs", []string{`CREATE TABLE IF NOT EXISTS delivery_jobs (
			id            ` + id + `,
			flow          TEXT    NOT NULL,
			resource_type TEXT    NOT NULL,
			resource_id   TEXT    NOT NULL,
			version       INTEGER NOT NULL,
			state         TEXT    NOT NULL,
			attempts      INTEGER NOT NULL,
			retry_base    INTEGER NOT NULL,
			run_at        BIGINT  NOT NULL,
			lease_until   BIGINT  NOT NULL,
			last_error    TEXT    NOT NULL,
			created_at    BIGINT  NOT NULL,
			updated_at    BIGINT  NOT NULL,
			UNIQUE (flow, resource_type, resource_id, version)
		)`,
			`CREATE INDEX IF NOT EXISTS delivery_jobs_ready ON delivery_jobs (state, run_at)`,
			`CREATE INDEX IF NOT EXISTS delivery_jobs_resource ON delivery_jobs (resource_type, resource_id, flow, version)`,
		}, `INSERT INTO delivery_jobs (flow, resource_type, resource_id, version, state, attempts, retry_base,
			run_at, lease_until, last_error, created_at, updated_at)
			VALUES ('solo-patient', 'Patient', 'legacy', 1, 'dead', 3, 0, 1, 0, 'old', 1, 1)`, "resource_id", "", "flow = 'solo-patient'"},
		{"file_ledger", []string{`CREATE TABLE IF NOT EXISTS file_ledger (
			id          ` + id + `,
			direction   TEXT    NOT NULL,
			job         TEXT    NOT NULL,
			path        TEXT    NOT NULL,
			size        BIGINT  NOT NULL,
			sha256      TEXT    NOT NULL,
			rows_ok     INTEGER NOT NULL,
			rows_failed INTEGER NOT NULL,
			outcome     TEXT    NOT NULL,
			detail      TEXT    NOT NULL,
			at          BIGINT  NOT NULL
		)`,
			`CREATE INDEX IF NOT EXISTS file_ledger_hash ON file_ledger (direction, job, sha256)`,
			`CREATE INDEX IF NOT EXISTS file_ledger_path ON file_ledger (direction, job, path)`,
		}, `INSERT INTO file_ledger (direction, job, path, size, sha256, rows_ok, rows_failed, outcome, detail, at)
			VALUES ('in', 'cancel', 'legacy', 10, 'aa', 1, 0, 'ok', '', 1)`, "path", "", ""},
		{"export_slots", []string{`CREATE TABLE IF NOT EXISTS export_slots (
		job       TEXT   NOT NULL,
		slot      TEXT   NOT NULL,
		ledger_id BIGINT NOT NULL,
		at        BIGINT NOT NULL,
		PRIMARY KEY (job, slot)
	)`}, `INSERT INTO export_slots (job, slot, ledger_id, at) VALUES ('legacy', '2026-01-01', 1, 1)`, "job", "", ""},
		{"export_streaks", []string{`CREATE TABLE IF NOT EXISTS export_streaks (
		job      TEXT   NOT NULL PRIMARY KEY,
		failures BIGINT NOT NULL,
		missed   BIGINT NOT NULL,
		since    BIGINT NOT NULL,
		notified BIGINT NOT NULL
	)`}, `INSERT INTO export_streaks (job, failures, missed, since, notified) VALUES ('legacy', 2, 0, 1, 1)`, "job", "", ""},
		{"ehr_push", []string{`CREATE TABLE IF NOT EXISTS ehr_push (
			queue       TEXT    NOT NULL,
			type        TEXT    NOT NULL,
			id          TEXT    NOT NULL,
			version     INTEGER NOT NULL,
			attempts    INTEGER NOT NULL,
			last_status INTEGER NOT NULL,
			last_error  TEXT    NOT NULL,
			dead        INTEGER NOT NULL,
			queued_at   BIGINT  NOT NULL,
			next_at     BIGINT  NOT NULL,
			PRIMARY KEY (queue, type, id)
		)`,
			`CREATE INDEX IF NOT EXISTS ehr_push_due ON ehr_push (queue, dead, next_at)`,
		}, `INSERT INTO ehr_push (queue, type, id, version, attempts, last_status, last_error, dead, queued_at, next_at)
			VALUES ('q', 'Appointment', 'legacy', 1, 0, 0, '', 0, 1, 1)`, "resource_id",
			// delivery migration 0002 moved the row into the one queue
			"delivery_jobs", "flow = 'ehr' AND resource_type = 'Appointment' AND state = 'pending'"},
		{"solo_webhook_events", []string{`CREATE TABLE IF NOT EXISTS solo_webhook_events (
			hash        TEXT    NOT NULL PRIMARY KEY,
			event_id    TEXT    NOT NULL,
			type        TEXT    NOT NULL,
			object_id   TEXT    NOT NULL,
			state       TEXT    NOT NULL,
			attempts    INTEGER NOT NULL,
			last_error  TEXT    NOT NULL,
			received_at BIGINT  NOT NULL,
			next_at     BIGINT  NOT NULL
		)`,
			`CREATE UNIQUE INDEX IF NOT EXISTS solo_webhook_events_id ON solo_webhook_events (event_id) WHERE event_id <> ''`,
			`CREATE INDEX IF NOT EXISTS solo_webhook_events_due ON solo_webhook_events (state, next_at)`,
		}, `INSERT INTO solo_webhook_events (hash, event_id, type, object_id, state, attempts, last_error, received_at, next_at)
			VALUES ('h1', 'e1', 'legacy', '5001', 'done', 1, '', 1, 1)`, "resource_type",
			// solostatus migration 0002 moved the event into the one queue
			"delivery_jobs", "flow = 'solo/webhook' AND resource_id = 'event:e1' AND state = 'delivered'"},
		// The store's own tables, created by its migrations 1 and 2 (see
		// buildLegacy).
		{"resources", nil, `INSERT INTO resources (type, id, version, sha256, updated_at) VALUES ('Patient', 'legacy', 1, 'x', '2026-01-01T00:00:00Z')`, "id", "", ""},
		{"resource_versions", nil, `INSERT INTO resource_versions (type, id, version, sha256, body, created_at)
			VALUES ('Patient', 'legacy', 1, 'x', '{}', '2026-01-01T00:00:00Z')`, "id", "", ""},
		{"identifiers", nil, `INSERT INTO identifiers (type, system, value_hash, resource_id, created_at)
			VALUES ('Patient', 's', 'h', 'legacy', '2026-01-01T00:00:00Z')`, "resource_id", "", ""},
		{"crosswalk", nil, `INSERT INTO crosswalk (vendor, type, fhir_id, vendor_id, created_at)
			VALUES ('solo', 'Patient', 'legacy', 'v1', '2026-01-01T00:00:00Z')`, "fhir_id", "", ""},
		{"requests", nil, `INSERT INTO requests (key, status, response, created_at, body_hash)
			VALUES ('legacy', 201, '{}', '2026-01-01T00:00:00Z', 'h')`, "key", "", ""},
		{"messages", nil, `INSERT INTO messages (at, direction, kind, resource_type, resource_id, vendor, status, outcome)
			VALUES ('2026-01-01T00:00:00Z', 'in', 'k', 'Patient', 'legacy', 'solo', 's', 'o')`, "resource_id", "", ""},
	}
}

// legacyTable is one table of the old schema: how the old code created it,
// a row to insert, and a column whose value in that row is "legacy"; in
// (default name) is the table holding the row after the migrations, and
// where a further condition it must meet there.
type legacyTable struct {
	name   string
	create []string
	insert string
	col    string
	in     string
	where  string
}

// buildLegacy creates at db the schema fhirbridge 5540bcb left: the store's
// migrations 1 and 2 recorded in the single-sequence schema_migrations,
// plus every table the old Init functions created, one row in each.
func buildLegacy(t *testing.T, db *sql.DB, dialect string) {
	t.Helper()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("building the old schema: %v\n%s", err, q)
		}
	}
	exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL)`)
	for v, file := range []string{"0001_init.sql", "0002_request_body_hash.sql"} {
		src, err := os.ReadFile(filepath.Join("migrations", dialect, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range store.SplitStatements(string(src)) {
			exec(q)
		}
		exec(fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, '2026-01-0%dT00:00:00.000000Z')`, v+1, v+1))
	}
	for _, tb := range legacyTables(dialect) {
		for _, q := range tb.create {
			exec(q)
		}
		exec(tb.insert)
	}
}

// TestLegacyDatabaseSQLite: a SQLite database made by the code before
// migration lines opens with every row kept and every line recorded.
func TestLegacyDatabaseSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fhirbridge.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	buildLegacy(t, db, "sqlite")
	db.Close()
	testLegacy(t, "sqlite://"+path, "sqlite")
}

// TestLegacyDatabasePostgres is TestLegacyDatabaseSQLite on PostgreSQL.
func TestLegacyDatabasePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	base := pgtest.Start(t)
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE legacy"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", base+"/legacy")
	if err != nil {
		t.Fatal(err)
	}
	buildLegacy(t, db, "postgres")
	db.Close()
	testLegacy(t, base+"/legacy", "postgres")
	// A fresh database gets the same lines.
	if _, err := admin.Exec("CREATE DATABASE fresh"); err != nil {
		t.Fatal(err)
	}
	testFresh(t, base+"/fresh")
}

// TestFreshDatabaseSQLite: a new SQLite database gets every line.
func TestFreshDatabaseSQLite(t *testing.T) {
	testFresh(t, "sqlite://"+filepath.Join(t.TempDir(), "fhirbridge.db"))
}

// testLegacy opens the old database at url twice and checks rows, recorded
// versions and that the packages work on it.
func testLegacy(t *testing.T, url, dialect string) {
	ctx := context.Background()
	for round := range 2 { // the second Open applies nothing
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatalf("Open #%d of the old database: %v", round+1, err)
		}
		for _, tb := range legacyTables(dialect) {
			var n int
			in := tb.name
			if tb.in != "" {
				in = tb.in
			}
			q := `SELECT COUNT(*) FROM ` + in + ` WHERE ` + tb.col + ` = 'legacy'`
			if tb.where != "" {
				q += ` AND ` + tb.where
			}
			if err := st.DB().QueryRowContext(ctx, q).Scan(&n); err != nil || n != 1 {
				t.Errorf("Open #%d: %s has %d old rows of %s (%v), want 1", round+1, in, n, tb.name, err)
			}
		}
		checkLines(t, st)
		var applied string
		if err := st.DB().QueryRowContext(ctx, `SELECT applied_at FROM schema_migrations WHERE line = 'store' AND version = 2`).Scan(&applied); err != nil || applied != "2026-01-02T00:00:00.000000Z" {
			t.Errorf("store migration 2 applied_at = %q (%v), want the old record kept", applied, err)
		}
		st.Close()
	}
	// The packages work on the migrated tables: the old row is listed,
	// and a new job goes in next to the old one.
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := ledger.List(ctx, st, ledger.Filter{Job: "cancel"})
	if err != nil || len(entries) != 1 || entries[0].Path != "legacy" {
		t.Errorf("ledger.List on the old ledger = %d entries (%v), want the old one", len(entries), err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		return delivery.Enqueue(ctx, tx, delivery.Job{Flow: "solo-patient", ResourceType: "Patient", ResourceID: "new", Version: 1})
	})
	if err != nil {
		t.Fatalf("enqueueing on the old queue: %v", err)
	}
	jobs, err := delivery.NewQueue(st).List(ctx, delivery.Filter{})
	if err != nil || len(jobs) != 4 {
		t.Errorf("delivery jobs after enqueue = %d (%v), want the old one, the old EHR push, the old webhook event and the new one", len(jobs), err)
	}
	testTooNew(t, st, url)
}

// testFresh opens a new database twice and checks the recorded lines.
func testFresh(t *testing.T, url string) {
	ctx := context.Background()
	for round := range 2 {
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatalf("Open #%d of a fresh database: %v", round+1, err)
		}
		checkLines(t, st)
		st.Close()
	}
}

// checkLines compares schema_migrations with wantLines: every version of
// every line recorded exactly once.
func checkLines(t *testing.T, st *store.Store) {
	t.Helper()
	rows, err := st.DB().Query(`SELECT line, COUNT(*), MAX(version) FROM schema_migrations GROUP BY line`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var line string
		var n, max int
		if err := rows.Scan(&line, &n, &max); err != nil {
			t.Fatal(err)
		}
		if n != max {
			t.Errorf("line %s: %d versions recorded, up to %d", line, n, max)
		}
		got[line] = max
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantLines, got); d != "" {
		t.Errorf("schema_migrations lines (-want +got):\n%s", d)
	}
}

// testTooNew records a version of a package line newer than the binary
// knows: Open refuses the database and names the line.
func testTooNew(t *testing.T, st *store.Store, url string) {
	t.Helper()
	ctx := context.Background()
	for _, line := range []string{"delivery", store.StoreLine} {
		_, err := st.DB().ExecContext(ctx, st.Rebind(`INSERT INTO schema_migrations (line, version, applied_at) VALUES (?, ?, ?)`),
			line, wantLines[line]+1, "x")
		if err != nil {
			t.Fatal(err)
		}
		newer, err := store.Open(ctx, url)
		if newer != nil {
			newer.Close()
		}
		if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), `"`+line+`"`) {
			t.Errorf("Open with line %s at version %d = %v, want ErrSchemaTooNew naming the line", line, wantLines[line]+1, err)
		}
		if _, err := st.DB().ExecContext(ctx, st.Rebind(`DELETE FROM schema_migrations WHERE line = ? AND version = ?`), line, wantLines[line]+1); err != nil {
			t.Fatal(err)
		}
	}
}
