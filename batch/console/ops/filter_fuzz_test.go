package ops

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDeliveriesFilter: the Deliveries filter reads any query without
// panicking; a refusal's message never holds the value given; an
// accepted filter names only a known vendor's flows, a known state and
// valid times.
func FuzzDeliveriesFilter(f *testing.F) {
	f.Add("solo", "solo-patient", "dlq", "2026-12-01T08:00", "2026-12-02T08:00")
	f.Add("", "x", "gone", "yesterday", "")
	f.Add("nobody", "", "", "", "2026-13-01T00:00")
	f.Add("solo", "other", "pending", "", "")
	f.Fuzz(func(t *testing.T, vendor, flow, state, since, until string) {
		v := url.Values{"vendor": {vendor}, "flow": {flow}, "state": {state}, "since": {since}, "until": {until}}
		r := httptest.NewRequest("GET", "/console/deliveries?"+v.Encode(), nil)
		vend := map[string][]string{"solo": {"solo-appointment", "solo-patient"}}
		_, q, msg := readFilter(r, vend)
		if msg != "" {
			for _, val := range []string{vendor, flow, state, since, until} {
				if len(val) > 3 && utf8.ValidString(val) && strings.Contains(msg, val) && !strings.Contains(filterMessages, val) {
					t.Errorf("refusal %q echoes the value %q", msg, val)
				}
			}
			return
		}
		if vendor != "" {
			for _, fl := range q.Flows {
				if fl != "solo-appointment" && fl != "solo-patient" {
					t.Errorf("vendor %q selected flow %q", vendor, fl)
				}
			}
		}
		if state != "" && string(q.State) != state {
			t.Errorf("state %q read as %q", state, q.State)
		}
		if since != "" && q.Since.IsZero() || until != "" && q.Until.IsZero() {
			t.Errorf("times %q, %q accepted as zero", since, until)
		}
	})
}

// filterMessages holds every refusal's fixed text, so a value that is a
// word of it is not taken for an echo.
var filterMessages = strings.Join([]string{
	"The vendor or flow filter is not a name.",
	"The vendor filter names no configured vendor.",
	"The flow filter is not one of the vendor's flows.",
	"The state filter must be one of pending, in_flight, dlq, delivered, discarded.",
	"The since filter must be a time written 2006-01-02T15:04 (UTC).",
	"The until filter must be a time written 2006-01-02T15:04 (UTC).",
}, "\n")
