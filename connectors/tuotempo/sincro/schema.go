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

// Temporary tables SINCRO writes (guide A.2.3 and B.1), with the guide's
// columns, limits and NOT NULLs. APP_TMP_ID ("do not use") defaults to ”
// and INSERT_TIME to the insert's time, so SINCRO may leave them out.
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

// The bridge's private columns of the temporary tables: the row's key and
// its processing state. SINCRO's role may insert only the guide's columns
// (column-level INSERT) and read nothing.
const (
	colID    = "bridge_id"    // identity: the claim order and key
	colDone  = "bridge_done"  // when the row was applied (NULL: pending)
	colTries = "bridge_tries" // failed attempts that the booker could not answer
)

// tmpTableSQL is the CREATE TABLE of a temporary table.
func tmpTableSQL(schema, name string, cols []tmpCol) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s (%s bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		quoteIdent(schema), quoteIdent(name), colID)
	for _, c := range cols {
		typ := c.sqlType()
		if c.Name == "INSERT_TIME" {
			typ = "timestamp"
		}
		fmt.Fprintf(&b, ", %s %s", quoteIdent(c.Name), typ)
		if c.notNull {
			b.WriteString(" NOT NULL")
		}
		if c.def != "" {
			b.WriteString(" DEFAULT " + c.def)
		}
	}
	fmt.Fprintf(&b, ", %s timestamptz, %s integer NOT NULL DEFAULT 0)", colDone, colTries)
	return b.String()
}

// dataSchema is the private schema of the views' rows.
func dataSchema(schema string) string { return schema + "_data" }

// channel is the LISTEN/NOTIFY channel the temporary tables' trigger
// notifies.
func channel(schema string) string { return schema + "_sincro" }

// lockKey is the advisory lock key of the schema: taken exclusively by
// the setup and the full refresh, shared by the observer.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("fhirbridge sincro " + schema))
	return int64(h.Sum64())
}

// setupSQL is every statement that creates or updates the schema's
// objects: the private data schema and table, the published views (only
// those in views), the two temporary tables and their notify trigger.
func setupSQL(cfg *Config, views []View) []string {
	s, d := quoteIdent(cfg.Schema), quoteIdent(dataSchema(cfg.Schema))
	q := []string{
		"CREATE SCHEMA IF NOT EXISTS " + s,
		"CREATE SCHEMA IF NOT EXISTS " + d,
		"CREATE TABLE IF NOT EXISTS " + d + `.rows (
			view_name text NOT NULL, src_type text NOT NULL, src_id text NOT NULL, seq integer NOT NULL,
			cols jsonb NOT NULL, day date,
			PRIMARY KEY (view_name, src_type, src_id, seq))`,
		"CREATE INDEX IF NOT EXISTS rows_view_day ON " + d + ".rows (view_name, day)",
	}
	for _, v := range views {
		q = append(q, viewSQL(v, cfg.Schema, dataSchema(cfg.Schema), cfg.TimeZone, v.days(cfg)))
	}
	q = append(q,
		tmpTableSQL(cfg.Schema, ReservationsTmp, reservationsTmpCols),
		tmpTableSQL(cfg.Schema, DeleteTable, deleteCols),
		"CREATE OR REPLACE FUNCTION "+d+`.notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify(TG_ARGV[0], TG_TABLE_NAME); RETURN NULL; END $$`,
	)
	for _, t := range []string{ReservationsTmp, DeleteTable} {
		tbl := s + "." + quoteIdent(t)
		q = append(q,
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s) WHERE %s IS NULL",
				quoteIdent(strings.ToLower(t)+"_pending"), tbl, colID, colDone),
			fmt.Sprintf("CREATE OR REPLACE TRIGGER sincro_notify AFTER INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s.notify(%s)",
				tbl, d, quoteLiteral(channel(cfg.Schema))),
		)
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
		if _, err := tx.SQL().ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(cfg.Schema)); err != nil {
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
		}
		return nil
	})
}

// firstWords names a statement in errors by its first words (no data).
func firstWords(q string) string {
	f := strings.Fields(q)
	return strings.Join(f[:min(len(f), 6)], " ")
}
