package sincro

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestValidate: each bad key is named; the defaults are valid.
func TestValidate(t *testing.T) {
	neg := -1
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string // "" valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"schema quoted", func(c *Config) { c.Schema = `tt"; DROP` }, Section + ".schema"},
		{"schema upper case", func(c *Config) { c.Schema = "TuOtempo" }, Section + ".schema"},
		{"schema public", func(c *Config) { c.Schema = "public" }, "system or shared schema"},
		{"schema pg_", func(c *Config) { c.Schema = "pg_x" }, "system or shared schema"},
		{"schema private", func(c *Config) { c.Schema = "tuotempo_sincro_data" }, "private Sincro schema"},
		{"role bad", func(c *Config) { c.Role = "a b" }, Section + ".role"},
		{"role pg_", func(c *Config) { c.Role = "pg_read_all_data" }, "reserved"},
		{"poll", func(c *Config) { c.Poll = connectors.Duration(time.Millisecond) }, Section + ".poll"},
		{"refresh", func(c *Config) { c.Refresh = connectors.Duration(time.Second) }, Section + ".refresh"},
		{"days", func(c *Config) { c.ReservationsDays = &neg }, Section + ".reservations_days"},
		{"zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, Section + ".timezone"},
		{"params view", func(c *Config) { c.Params = map[string]map[string]string{"TT_NOPE": {}} }, Section + ".params.TT_NOPE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{}
			cfg.FillDefaults()
			c.mod(cfg)
			errs := cfg.Validate()
			if c.want == "" {
				if len(errs) > 0 {
					t.Fatalf("Validate = %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Fatalf("Validate = %v, want one error naming %q", errs, c.want)
			}
		})
	}
}

// TestDefaultCenter: the only center is taken; several need the key.
func TestDefaultCenter(t *testing.T) {
	c := &Config{}
	if err := c.DefaultCenter([]string{"C1"}); err != nil || c.Center != "C1" {
		t.Errorf("one center: %v, %q", err, c.Center)
	}
	if err := (&Config{}).DefaultCenter([]string{"C1", "C2"}); err == nil {
		t.Error("two centers and no center key accepted")
	}
	if err := (&Config{Center: "C3"}).DefaultCenter([]string{"C1", "C2"}); err == nil {
		t.Error("unknown center accepted")
	}
}

// TestRefusesSQLite: the section needs PostgreSQL.
func TestRefusesSQLite(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &Config{}
	cfg.FillDefaults()
	if _, err := New(cfg, st, nil, nil); !errors.Is(err, errSQLite) {
		t.Fatalf("New on SQLite = %v, want the PostgreSQL refusal", err)
	}
}

// TestToRow: values are checked against their columns; errors name the
// column, never the value.
func TestToRow(t *testing.T) {
	v := View{Name: "V", Columns: []Column{txt("A", 3), integer("N"), float("F"), txt("D", 10)},
		Filter: &DateFilter{Column: "D"}}
	for _, c := range []struct {
		name, rec, want, err string
	}{
		{"ok", `{"A":"abc","N":7,"F":"2.5","D":"31/12/2030","X":"ignored"}`, "A=abc N=7 F=2.5 D=31/12/2030", ""},
		{"integer as float literal", `{"N":7.0,"D":"01/01/2030"}`, "N=7 D=01/01/2030", ""},
		{"empty is null", `{"A":"","D":"01/01/2030"}`, "D=01/01/2030", ""},
		{"too long", `{"A":"secret","D":"01/01/2030"}`, "", "column A: longer than 3"},
		{"not integer", `{"N":"7.5","D":"01/01/2030"}`, "", "column N: not an integer"},
		{"not number", `{"F":"x","D":"01/01/2030"}`, "", "column F: not a number"},
		{"bad date", `{"D":"2030-01-01"}`, "", "column D: not a dd/mm/yyyy date"},
		{"array", `{"A":["a"],"D":"01/01/2030"}`, "", "column A: not a single value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := fhir.DecodeString(c.rec, fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rw, err := toRow(v, rec)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret") {
					t.Fatalf("toRow error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, col := range v.Columns {
				if val, ok := rw.cols[col.Name]; ok {
					got = append(got, col.Name+"="+val)
				}
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("toRow = %q, want %q", strings.Join(got, " "), c.want)
			}
		})
	}
}

// FuzzToRow: any record gives a row or an error, and a row's values fit
// their columns.
func FuzzToRow(f *testing.F) {
	f.Add(`{"A":"abc","N":7,"F":"2.5","D":"31/12/2030"}`)
	f.Add(`{"N":1e300,"F":"NaN","D":"29/02/2031"}`)
	v := View{Name: "V", Columns: []Column{txt("A", 3), integer("N"), float("F"), txt("D", 10)},
		Filter: &DateFilter{Column: "D"}}
	f.Fuzz(func(t *testing.T, js string) {
		if len(js) > 4096 {
			return
		}
		rec, err := fhir.DecodeString(js, fhir.DecodeOptions{})
		if err != nil {
			return
		}
		rw, err := toRow(v, rec)
		if err != nil {
			return
		}
		if len([]rune(rw.cols["A"])) > 3 || rw.day == nil {
			t.Fatalf("row %v does not fit", rw.cols)
		}
	})
}

// TestViewSQL: the published columns are the guide's, quoted, typed, and
// the filters compare the real date in the configured zone.
func TestViewSQL(t *testing.T) {
	var res, av View
	for _, v := range Views {
		switch v.Name {
		case "TT_RESERVATIONS":
			res = v
		case "TT_AVAILABILITIES":
			av = v
		}
	}
	q := viewSQL(res, "tt", "tt_data", "Europe/Madrid", 7)
	for _, want := range []string{`CREATE OR REPLACE VIEW "tt"."TT_RESERVATIONS"`, `(cols->>'NOTES')::varchar(500) AS "NOTES"`,
		`FROM "tt_data".rows WHERE view_name = 'TT_RESERVATIONS' AND day >= (now() AT TIME ZONE 'Europe/Madrid')::date - 7`} {
		if !strings.Contains(q, want) {
			t.Errorf("TT_RESERVATIONS SQL lacks %q:\n%s", want, q)
		}
	}
	if q := viewSQL(av, "tt", "tt_data", "Europe/Madrid", 0); !strings.HasSuffix(q, "::date - 0") {
		t.Errorf("TT_AVAILABILITIES is not future-only:\n%s", q)
	}
	if len(Views) != 9 || len(res.Columns) != 30 {
		t.Errorf("%d views, TT_RESERVATIONS has %d columns; want 9 and 30", len(Views), len(res.Columns))
	}
}
