package sincro

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// tmpCol is one column of a temporary table that SINCRO inserts into.
type tmpCol struct {
	Column
	notNull bool
	// def is the column's SQL default ("" for none).
	def string
}

func nn(c Column) tmpCol { return tmpCol{Column: c, notNull: true} }
func nl(c Column) tmpCol { return tmpCol{Column: c} }

// Temporary tables SINCRO writes (guide A.2.3 and B.1), published as views
// of these names over the private storage tables. The columns below are
// the guide's, with its limits, NOT NULLs and defaults (APP_TMP_ID, "do
// not use", defaults to ” and INSERT_TIME to the insert's time, so
// SINCRO may leave them out); the storage tables of the migration line
// declare the same (TestPostgres checks they agree).
var (
	ReservationsTmp = "TT_RESERVATIONS_TMP"
	DeleteTable     = "TT_DELETE_RESERVATION"
)

var reservationsTmpCols = []tmpCol{
	{Column: txt("APP_TMP_ID", 10), notNull: true, def: "''"}, nl(txt("APP_LID", 50)), nn(txt("APP_TID", 50)),
	nn(txt("APP_ACTION", 10)), nn(txt("APP_DATE", 10)), nn(txt("APP_START_TIME", 5)), nl(txt("APP_END_TIME", 5)),
	nl(txt("USER_LID", 50)), nl(txt("USER_TID", 50)), nl(txt("USER_FIRST_NAME", 50)), nl(txt("USER_SECOND_NAME", 50)),
	nl(txt("USER_THIRD_NAME", 50)), nl(txt("USER_ID_NUMBER", 50)), nl(txt("USER_LANDLINE_PHONE", 50)),
	nl(txt("USER_MOBILE_PHONE", 50)), nl(txt("USER_EMAIL", 50)), nl(txt("USER_DATE_OF_BIRTH", 10)),
	nl(txt("USER_GENDER", 10)), nl(txt("USER_ZIP_CODE", 10)), nl(txt("USER_WORK_PHONE", 50)),
	nl(txt("USER_NOTES", 500)), nl(txt("USER_LANGUAGE", 10)), nn(txt("RESOURCE_LID", 50)), nl(txt("ACTIVITY_LID", 50)),
	nl(txt("INSURANCE_LID", 50)), nl(txt("LOCATION_LID", 50)), nl(txt("STATUS", 50)), nl(txt("NOTES", 500)),
	nl(txt("APP_OWNER_LID", 50)), nl(txt("APP_OWNER_TID", 50)), nl(txt("APP_OWNER_NAME", 50)),
	nl(txt("STATUS_TRIGGER", 4000)), {Column: Column{Name: "INSERT_TIME"}, notNull: true, def: "LOCALTIMESTAMP"},
	nl(txt("APP_CUSTOM_0", 500)), nl(txt("APP_CUSTOM_1", 500)), nl(txt("APP_CUSTOM_2", 500)),
	nl(txt("APP_CUSTOM_3", 500)), nl(txt("APP_CUSTOM_4", 500)),
}

var deleteCols = []tmpCol{
	{Column: txt("APP_TMP_ID", 10), notNull: true, def: "''"}, nl(txt("APP_LID", 50)),
	nl(txt("USER_LANDLINE_PHONE", 50)), nl(txt("USER_MOBILE_PHONE", 50)), nl(txt("USER_EMAIL", 50)),
	nl(txt("APP_STATUS", 4000)), nl(txt("STATUS_TRIGGER", 4000)),
	{Column: Column{Name: "INSERT_TIME"}, notNull: true, def: "LOCALTIMESTAMP"},
}

// The bridge's private columns of the temporary tables' storage: the
// row's key and its processing state. They are not in the published
// views; SINCRO's role may insert only the guide's columns (column-level
// INSERT on the views) and read nothing.
const (
	colID    = "bridge_id"    // identity: the claim order and key
	colDone  = "bridge_done"  // when the row was applied (NULL: pending)
	colTries = "bridge_tries" // failed attempts that the booker could not answer
)

// privateSchema is the fixed schema of the migration line
// tuotempo_sincro (migrations/postgres): the views' rows and the storage
// tables of the two temporary tables. The role gets nothing in it.
const privateSchema = "tuotempo_sincro_data"

// storage names the private table that stores the published temporary
// table t (ReservationsTmp or DeleteTable).
func storage(t string) string {
	if t == DeleteTable {
		return "delete_reservation"
	}
	return "reservations_tmp"
}

// tmpColumns are the guide's columns of the published temporary table t.
func tmpColumns(t string) []tmpCol {
	if t == DeleteTable {
		return deleteCols
	}
	return reservationsTmpCols
}

// channel is the LISTEN/NOTIFY channel the storage tables' trigger
// notifies (fixed in the migration).
const channel = "tuotempo_sincro"

// lockKey is the advisory lock key of the Sincro objects: taken
// exclusively by the setup and the full refresh, shared by the observer.
var lockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("fhirbridge sincro " + privateSchema))
	return int64(h.Sum64())
}()

// tmpViewSQL is the CREATE OR REPLACE VIEW statement publishing the
// temporary table t in schema: a simple view over its storage table
// showing exactly the guide's columns, so PostgreSQL makes it
// auto-updatable (an INSERT goes to the storage table, with the view
// owner's rights on it, its defaults and its notify trigger).
func tmpViewSQL(schema, t string) string {
	var names []string
	for _, c := range tmpColumns(t) {
		names = append(names, quoteIdent(c.Name))
	}
	return fmt.Sprintf("CREATE OR REPLACE VIEW %s.%s AS SELECT %s FROM %s.%s",
		quoteIdent(schema), quoteIdent(t), strings.Join(names, ", "), quoteIdent(privateSchema), quoteIdent(storage(t)))
}

// tmpGrantSQL is the GRANT of INSERT on the guide's columns of the
// published temporary table t to role, STATUS_TRIGGER (the bridge's
// answer) excepted.
func tmpGrantSQL(schema, t, role string) string {
	var names []string
	for _, c := range tmpColumns(t) {
		if c.Name != "STATUS_TRIGGER" {
			names = append(names, quoteIdent(c.Name))
		}
	}
	return fmt.Sprintf("GRANT INSERT (%s) ON %s.%s TO %s", strings.Join(names, ", "), quoteIdent(schema), quoteIdent(t), quoteIdent(role))
}

// setupSQL is every statement that creates or updates the published
// schema's objects, all views over the private tables of the migration
// line: the Sincro views (only those in views) and the two temporary
// tables.
func setupSQL(cfg *Config, views []View) []string {
	q := []string{"CREATE SCHEMA IF NOT EXISTS " + quoteIdent(cfg.Schema)}
	for _, v := range views {
		q = append(q, viewSQL(v, cfg.Schema, privateSchema, cfg.TimeZone, v.days(cfg)))
	}
	for _, t := range []string{ReservationsTmp, DeleteTable} {
		q = append(q, tmpViewSQL(cfg.Schema, t))
	}
	return q
}

// days is the date filter's window back for v.
func (v View) days(cfg *Config) int {
	if v.Filter == nil || v.Filter.DaysKey == "" || cfg.ReservationsDays == nil {
		return 0
	}
	return *cfg.ReservationsDays
}

// setup creates or updates the schema's objects in one transaction under
// the schema's advisory lock (replicas starting together take turns). A
// view whose columns changed is dropped and created again (its grants are
// given again when the role exists).
func setup(ctx context.Context, st *store.Store, cfg *Config, views []View) error {
	return st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.SQL().ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return store.Classify("locking the sincro schema", err)
		}
		for _, q := range setupSQL(cfg, views) {
			if _, err := tx.SQL().ExecContext(ctx, "SAVEPOINT sincro_view"); err != nil {
				return store.Classify("creating the sincro schema", err)
			}
			_, err := tx.SQL().ExecContext(ctx, q)
			if err != nil && strings.HasPrefix(q, "CREATE OR REPLACE VIEW") {
				// The columns changed: CREATE OR REPLACE cannot drop or
				// retype a column; replace the view.
				if _, rerr := tx.SQL().ExecContext(ctx, "ROLLBACK TO SAVEPOINT sincro_view"); rerr != nil {
					return store.Classify("creating the sincro schema", rerr)
				}
				name := strings.Fields(q)[4]
				if _, err = tx.SQL().ExecContext(ctx, "DROP VIEW IF EXISTS "+name); err == nil {
					_, err = tx.SQL().ExecContext(ctx, q)
				}
			}
			if err != nil {
				return store.Classify("creating the sincro schema ("+firstWords(q)+")", err)
			}
		}
		var exists bool
		if err := tx.SQL().QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", cfg.Role).Scan(&exists); err != nil {
			return store.Classify("looking up the sincro role", err)
		}
		if exists {
			for _, v := range views {
				q := fmt.Sprintf("GRANT SELECT ON %s.%s TO %s", quoteIdent(cfg.Schema), quoteIdent(v.Name), quoteIdent(cfg.Role))
				if _, err := tx.SQL().ExecContext(ctx, q); err != nil {
					return store.Classify("granting the sincro role its views", err)
				}
			}
			for _, t := range []string{ReservationsTmp, DeleteTable} {
				if _, err := tx.SQL().ExecContext(ctx, tmpGrantSQL(cfg.Schema, t, cfg.Role)); err != nil {
					return store.Classify("granting the sincro role its temporary tables", err)
				}
			}
		}
		return nil
	})
}

// firstWords names a statement in errors by its first words (no data).
func firstWords(q string) string {
	f := strings.Fields(q)
	return strings.Join(f[:min(len(f), 6)], " ")
}
