package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

var madrid, _ = time.LoadLocation("Europe/Madrid")

// FuzzParseDay: no panic; an accepted date is midnight in the zone and is
// the input written in one of the accepted layouts.
func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"01/06/2026", "2026-06-01", "31/02/2026", "1/6/2026", "", "00/00/0000", "29/02/2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDay(s, madrid)
		if !ok {
			return
		}
		if d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Location() != madrid {
			t.Fatalf("%q: %v is not midnight in Madrid", s, d)
		}
		if s != d.Format("02/01/2006") && s != d.Format("2006-01-02") {
			t.Fatalf("%q read as %v, which writes otherwise", s, d)
		}
		if again, ok := parseDay(d.Format("02/01/2006"), madrid); !ok || !again.Equal(d) {
			t.Fatalf("%q: %v does not round-trip", s, d)
		}
	})
}

// FuzzParseClock: no panic; an accepted time is a minute of the day that
// round-trips through HH:mm.
func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"10:00", "23:59", "00:00", "24:00", "9:05", "10:60", "", "10:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseClock(s)
		if !ok {
			return
		}
		if m < 0 || m >= 24*60 {
			t.Fatalf("%q: minute %d out of the day", s, m)
		}
		w := fmt.Sprintf("%02d:%02d", m/60, m%60)
		if again, ok := parseClock(w); !ok || again != m {
			t.Fatalf("%q: %d does not round-trip through %q", s, m, w)
		}
	})
}

// FuzzParseStamp: no panic; an accepted LAST_REQUEST_TIMESTAMP round-trips
// as an RFC 3339 instant and as local wall time.
func FuzzParseStamp(f *testing.F) {
	for _, s := range []string{"2026-06-01 09:00:00", "2026-06-01T09:00:00", "01/06/2026 09:00:00", "01/06/2026 09:00", "2026-06-01 09:00",
		"2026-06-01T07:00:00Z", "2026-06-01T09:00:00.123+02:00", "2026-03-29 02:30:00", "2026-10-25 02:30:00", "", "yesterday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, ok := parseStamp(s, madrid)
		if !ok {
			return
		}
		w := ts.Format(time.RFC3339Nano)
		if again, ok := parseStamp(w, madrid); !ok || !again.Equal(ts) {
			t.Fatalf("%q: %v does not round-trip through %q", s, ts, w)
		}
		if ts.Nanosecond() == 0 {
			l := ts.In(madrid).Format("2006-01-02 15:04:05")
			if again, ok := parseStamp(l, madrid); !ok || again.Sub(ts).Abs() > time.Hour {
				t.Fatalf("%q: %v does not round-trip through local %q", s, ts, l)
			}
		}
	})
}

// TestLastRequestTimestamp: every accepted format of getAppointments'
// LAST_REQUEST_TIMESTAMP (the center's local time unless the value has an
// offset) against a change at 09:00 Madrid, and the refusals, which name
// the parameter and do not echo the value.
func TestLastRequestTimestamp(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	rec, err := e.svc.Add(context.Background(), "c1", booking("s1"))
	if err != nil || rec["ADD_RESULT"] != "OK" {
		t.Fatalf("add: %v %v", rec, err)
	}
	for _, c := range []struct {
		stamp string
		n     int // appointments changed since; -1: refused
	}{
		{"2026-06-01 08:59:59", 1},
		{"2026-06-01 09:00:01", 0},
		{"2026-06-01T08:59:00", 1},
		{"2026-06-01T09:01:00", 0},
		{"01/06/2026 08:59:00", 1},
		{"01/06/2026 09:00:01", 0},
		{"01/06/2026 08:59", 1},
		{"01/06/2026 09:01", 0},
		{"2026-06-01 08:59", 1},
		{"2026-06-01 09:01", 0},
		{"2026-06-01T06:59:59Z", 1},
		{"2026-06-01T07:00:01Z", 0},
		{"2026-06-01T08:59:59+02:00", 1},
		{"2026-06-01T06:59:59.5Z", 1},
		{"2026-06-01T09:00:01-00:00", 0},
		{"yesterday <b>", -1},
		{"1780297200", -1},
		{"01/06/2026", -1},
		{"2026-06-01", -1},
		{"32/01/2026 10:00", -1},
		{"2026-13-01 10:00:00", -1},
		{"2026-06-01 24:00:00", -1},
		{"2026-06-01 09:00:00 +0200", -1},
		{"06/01/2026 9:00 PM", -1},
		{" 2026-06-01 09:00:00", -1},
		{"01/01/0000 00:00", -1},
		{"9999-12-31T23:59:59-02:00", -1},
	} {
		t.Run(c.stamp, func(t *testing.T) {
			recs, err := call(t, e, "getAppointments", map[string]string{"USER_LID": rec["USER_LID"], "LAST_REQUEST_TIMESTAMP": c.stamp})
			if c.n < 0 {
				var we *ws.Error
				if !errors.As(err, &we) || we.Kind != ws.BadRequest || we.Field != "LAST_REQUEST_TIMESTAMP" {
					t.Fatalf("want a BadRequest naming LAST_REQUEST_TIMESTAMP, got %v", err)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(c.stamp)) {
					t.Errorf("the error echoes the value: %v", err)
				}
				return
			}
			if err != nil || len(recs) != c.n {
				t.Errorf("got %d records (%v), want %d", len(recs), err, c.n)
			}
		})
	}
}

// TestAppTID: addAppointment takes tuOtempO's own appointment id (APP_TID,
// at most 50) and keeps it as an Appointment identifier.
func TestAppTID(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	var field *ws.Field
	for _, op := range e.svc.Operations() {
		if op.Name == "addAppointment" {
			for i := range op.In {
				if op.In[i].Name == "APP_TID" {
					field = &op.In[i]
				}
			}
		}
	}
	if field == nil || field.Required || field.Max != 50 {
		t.Fatalf("addAppointment's APP_TID field: %+v", field)
	}
	ctx := context.Background()
	for _, c := range []struct{ slot, tid, want string }{
		{"s1", "TT-APP-77", `{"system":"urn:fhirbridge:tuotempo:app-tid","value":"TT-APP-77"}`},
		{"s3", "", ""},
	} {
		p := booking(c.slot)
		if c.tid != "" {
			p["APP_TID"] = c.tid
		}
		rec, err := e.svc.Add(ctx, "c1", p)
		if err != nil || rec["ADD_RESULT"] != "OK" {
			t.Fatalf("add %s: %v %v", c.slot, rec, err)
		}
		body, _, err := e.st.GetResource(ctx, "Appointment", rec["APP_LID"])
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(string(body), `"identifier"`)
		if c.want != "" && !strings.Contains(string(body), c.want) || c.want == "" && has {
			t.Errorf("%s: appointment %s, want identifier %q", c.slot, body, c.want)
		}
	}
}
