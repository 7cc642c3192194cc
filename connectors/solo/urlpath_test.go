package solo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestIDsStayOneSegment: an id placed in a Solo path (ours, or one Solo
// gave back) is one escaped segment; "." and ".." are refused before
// anything is sent, since a server or proxy may resolve them to another
// resource.
func TestIDsStayOneSegment(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":7}`))
	}))
	t.Cleanup(srv.Close)
	c := mustNew(t, Config{BaseURL: srv.URL + "/base", APIKey: "k"})
	update := func(flow, id string) connectors.Delivery {
		return connectors.Delivery{Flow: flow, Op: connectors.Update, VendorID: id, Body: body(t, `{}`)}
	}
	cases := []struct {
		name string
		d    connectors.Delivery
		want string // the one request expected; "" for a refusal
	}{
		{"appointment dot-dot", update(FlowAppointment, ".."), ""},
		{"appointment dot", update(FlowAppointment, "."), ""},
		{"patient dot-dot", update(FlowPatient, ".."), ""},
		{"appointment under patient dot-dot", apptCreate(t, "..", true), ""},
		{"slash stays in its segment", update(FlowAppointment, "a/b"), "PUT /base/qapi/v1/appointments/a%2Fb"},
		{"dot-dot prefix stays in its segment", update(FlowPatient, "../waiting-rooms"), "PUT /base/qapi/v1/patients/..%2Fwaiting-rooms"},
		{"percent escaped once", update(FlowPatient, "50%"), "PUT /base/qapi/v1/patients/50%25"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			_, err := c.Deliver(context.Background(), tc.d)
			mu.Lock()
			got := append([]string(nil), seen...)
			mu.Unlock()
			if tc.want == "" {
				if !errors.Is(err, connectors.ErrPathSegment) {
					t.Fatalf("err %v, want ErrPathSegment", err)
				}
				if class, _ := connectors.Classify(err); class != connectors.Permanent {
					t.Errorf("class %s, want permanent", class)
				}
				if len(got) != 0 {
					t.Errorf("requests sent: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("requests %q, want [%s]", got, tc.want)
			}
		})
	}
}
