package sincro

import (
	"fmt"
	"strconv"
	"strings"
)

// ColType is the SQL type of a published column.
type ColType uint8

// The column types of the guide's tables: nvarchar(n) and nchar(n) are
// published as varchar(n), [int] as integer, [float] as double precision.
const (
	Text ColType = iota
	Integer
	Float
)

// Column is one column of a published view, in the guide's order.
type Column struct {
	// Name is the guide's column name (upper case; quoted in SQL).
	Name string
	// Type is its SQL type; Len is the varchar limit of a Text column.
	Type ColType
	Len  int
}

// sqlType is the column's PostgreSQL type.
func (c Column) sqlType() string {
	switch c.Type {
	case Integer:
		return "integer"
	case Float:
		return "double precision"
	}
	return "varchar(" + strconv.Itoa(c.Len) + ")"
}

// DateFilter limits a view to rows whose date column (dd/mm/yyyy in the
// center's time zone) is no older than today minus Days (Days is filled
// from the config for TT_RESERVATIONS; 0 is today: future only).
type DateFilter struct {
	Column string
	// DaysKey is the config value giving Days ("reservations_days"), ""
	// for a fixed 0.
	DaysKey string
}

// View is one published view: its name, the shipped forward mapping
// whose rows it shows and its columns.
type View struct {
	Name    string
	Mapping string
	Columns []Column
	// Filter, when set, limits the rows by date (guide B.1's notes).
	Filter *DateFilter
	// Related is the back-reference the mapping reads through %bundle:
	// the resources of type Related.Type whose element Related.Elem points
	// at the source resource (a Practitioner's PractitionerRoles).
	Related *BackRef
}

// BackRef names the resources that point at a source resource.
type BackRef struct{ Type, Elem string }

func txt(name string, n int) Column { return Column{Name: name, Type: Text, Len: n} }
func integer(name string) Column    { return Column{Name: name, Type: Integer} }
func float(name string) Column      { return Column{Name: name, Type: Float} }

// Views are the nine views of guide B.1, in its order, each fed by its
// shipped mapping. A view whose mapping is not shipped is skipped (logged).
var Views = []View{
	{Name: "TT_RESOURCES", Mapping: "tuotempo/resources", Related: &BackRef{"PractitionerRole", "practitioner"}, Columns: []Column{
		txt("RESOURCE_LID", 50), txt("RESOURCE_FIRST_NAME", 50), txt("RESOURCE_SECOND_NAME", 50),
		txt("RESOURCE_MOBILE_PHONE", 50), txt("RESOURCE_EMAIL", 50), txt("LOCATION_LID", 50),
		txt("LOCATION_NAME", 50), integer("WEB_ENABLED"), integer("AVAILABILITIES_STEP"),
	}},
	{Name: "TT_ACTIVITIES", Mapping: "tuotempo/activities", Columns: []Column{
		txt("ACTIVITY_LID", 50), txt("ACTIVITY_NAME", 50), txt("ACTIVITY_GROUP_NAME", 50),
		txt("ACTIVITY_GROUP_LID", 50), integer("ACTIVITY_DURATION"), float("ACTIVITY_PRICE"),
		integer("WEB_ENABLED"),
	}},
	{Name: "TT_INSURANCES", Mapping: "tuotempo/insurances", Columns: []Column{
		txt("INSURANCE_LID", 50), txt("INSURANCE_NAME", 50), integer("WEB_ENABLED"),
	}},
	{Name: "TT_RESOURCES_ACTIVITIES", Mapping: "tuotempo/resources-activities", Columns: []Column{
		txt("RESOURCE_LID", 50), txt("ACTIVITY_LID", 50), integer("ACTIVITY_DURATION"), float("ACTIVITY_PRICE"),
	}},
	{Name: "TT_INSURANCES_ACTIVITIES", Mapping: "tuotempo/insurances-activities", Columns: []Column{
		txt("INSURANCE_LID", 50), txt("ACTIVITY_LID", 50), float("ACTIVITY_PRICE"),
	}},
	{Name: "TT_INSURANCES_RESOURCES", Mapping: "tuotempo/insurances-resources", Columns: []Column{
		txt("INSURANCE_LID", 50), txt("RESOURCE_LID", 50),
	}},
	{Name: "TT_AVAILABILITIES", Mapping: "tuotempo/availabilities", Filter: &DateFilter{Column: "R_END_DAY"}, Columns: []Column{
		txt("AVAILABILITY_LID", 50), txt("R_WORKING_DAY", 1), txt("R_START_TIME", 5), txt("R_END_TIME", 5),
		txt("R_START_DAY", 10), txt("R_END_DAY", 10), txt("RESOURCE_LID", 50),
	}},
	{Name: "TT_ACTIVITIES_AVAILABILITIES", Mapping: "tuotempo/activities-availabilities", Columns: []Column{
		txt("ACTIVITY_LID", 50), txt("AVAILABILITY_LID", 50),
	}},
	{Name: "TT_RESERVATIONS", Mapping: "tuotempo/reservations", Filter: &DateFilter{Column: "APP_DATE", DaysKey: "reservations_days"}, Columns: []Column{
		txt("APP_LID", 50), txt("APP_DATE", 10), txt("APP_TID", 50), txt("APP_START_TIME", 5),
		txt("APP_END_TIME", 5), txt("USER_LID", 50), txt("USER_TID", 50), txt("USER_FIRST_NAME", 50),
		txt("USER_SECOND_NAME", 50), txt("USER_THIRD_NAME", 50), txt("USER_ID_NUMBER", 50),
		txt("USER_LANDLINE_PHONE", 50), txt("USER_MOBILE_PHONE", 50), txt("USER_WORK_PHONE", 50),
		txt("USER_EMAIL", 50), txt("PRIVACY", 1), txt("COMMUNICATION_PREFERENCES", 3),
		txt("USER_DATE_OF_BIRTH", 10), txt("USER_GENDER", 10), txt("USER_ZIP_CODE", 10),
		txt("USER_LANGUAGE", 10), txt("NOTES", 500), txt("RESOURCE_LID", 50), txt("ACTIVITY_LID", 50),
		txt("INSURANCE_LID", 50), txt("LOCATION_LID", 50), txt("STATUS", 50), txt("APP_OWNER_LID", 50),
		txt("APP_OWNER_TID", 50), txt("APP_OWNER_NAME", 50),
	}},
}

// viewSQL is the CREATE OR REPLACE VIEW statement publishing v in schema
// over the data table: each column read from the row's JSON and cast to
// its type; a date filter compares the row's real date with today in tz
// minus days.
func viewSQL(v View, schema, data, tz string, days int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s.%s AS SELECT ", quoteIdent(schema), quoteIdent(v.Name))
	for i, c := range v.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(cols->>%s)::%s AS %s", quoteLiteral(c.Name), c.sqlType(), quoteIdent(c.Name))
	}
	fmt.Fprintf(&b, " FROM %s.rows WHERE view_name = %s", quoteIdent(data), quoteLiteral(v.Name))
	if v.Filter != nil {
		fmt.Fprintf(&b, " AND day >= (now() AT TIME ZONE %s)::date - %d", quoteLiteral(tz), days)
	}
	return b.String()
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a PostgreSQL string literal (standard_conforming_strings on).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
