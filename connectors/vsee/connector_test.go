package vsee

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

func newConn(t *testing.T, url string, mod func(*Config)) *Connector {
	t.Helper()
	cfg := Config{BaseURL: url, PortalBaseURL: "https://portal.example/vc/next", APIKey: "key", APISecret: "secret"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func body(t *testing.T, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const user1 = `{"first_name":"Mario","last_name":"Rossi","email":"m@example.org","dob":"1970-01-01","code":"pat-1"}`

func TestDeliver(t *testing.T) {
	visitRec := `{"user":` + user1 + `,"start":"2026-12-01T10:00:00Z","provider_id":"dr-9","status":"booked"}`
	tests := []struct {
		name       string
		d          connectors.Delivery
		fail       map[string]int
		admin      bool
		wantErr    error
		wantClass  connectors.Class
		wantID     string
		wantLink   bool
		wantCalled []string
	}{
		{name: "user signs on, member id kept", d: connectors.Delivery{Flow: FlowUser, Op: connectors.Create, Body: nil},
			wantID: "m-pat-1", wantCalled: []string{"POST /users/sso"}},
		{name: "scheduled visit with invite link", d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-pat-1"},
			wantID: "67003", wantLink: true, wantCalled: []string{"POST /users/sso", "POST /intakes", "POST /visits", "GET /visits/67003"}},
		{name: "scheduled visit with the admin token", admin: true, d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-pat-1"},
			wantID: "67003", wantLink: true},
		{name: "walk-in", d: connectors.Delivery{Flow: FlowWalkin, Op: connectors.Create, Parent: "m-pat-1"},
			wantID: "67003", wantLink: true, wantCalled: []string{"POST /visits/add_walkin"}},
		{name: "e-consult, no invite link", d: connectors.Delivery{Flow: FlowEconsult, Op: connectors.Create, Parent: "m-pat-1"},
			wantID: "67003", wantCalled: []string{"POST /add_econsult"}},
		{name: "no parent yet", d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create},
			wantErr: ErrNoParent, wantClass: connectors.Permanent},
		{name: "another member id", d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-other"},
			wantErr: ErrOtherMember, wantClass: connectors.Permanent},
		{name: "unknown flow", d: connectors.Delivery{Flow: "vsee/other", Op: connectors.Create},
			wantErr: ErrUnsupported, wantClass: connectors.Permanent},
		{name: "cancel of a created visit", d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Cancel, VendorID: "67001"},
			wantErr: ErrNoCancel, wantClass: connectors.Permanent},
		{name: "credentials refused", fail: map[string]int{"POST /users/sso": 401}, d: connectors.Delivery{Flow: FlowUser, Op: connectors.Create},
			wantErr: ErrCredentials, wantClass: connectors.Reconnect},
		{name: "busy", fail: map[string]int{"POST /users/sso": 503}, d: connectors.Delivery{Flow: FlowUser, Op: connectors.Create},
			wantErr: ErrServer, wantClass: connectors.Transient},
		{name: "visit refused", fail: map[string]int{"POST /visits": 422}, d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-pat-1"},
			wantErr: ErrRefused, wantClass: connectors.Permanent},
		{name: "patient token refused is transient", fail: map[string]int{"POST /intakes": 401}, d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-pat-1"},
			wantErr: ErrTokenRefused, wantClass: connectors.Transient},
		{name: "invite link lost keeps the visit", fail: map[string]int{"GET /visits/67003": 500}, d: connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-pat-1"},
			wantID: "67003"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			for k, v := range tc.fail {
				f.fail[k] = v
			}
			c := newConn(t, srv.URL, func(cfg *Config) {
				if tc.admin {
					cfg.AdminToken = "admin-token"
				}
			})
			d := tc.d
			d.ResourceType, d.ResourceID = "Appointment", "ap-1"
			if d.Flow == FlowUser {
				d.Body = body(t, user1)
			} else {
				d.Body = body(t, visitRec)
			}
			res, err := c.Deliver(context.Background(), d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if cl, _ := connectors.Classify(err); cl != tc.wantClass {
					t.Fatalf("class = %v, want %v", cl, tc.wantClass)
				}
				for _, s := range []string{"Mario", "Rossi", "1970", "m@example", "tokx"} {
					if strings.Contains(err.Error(), s) {
						t.Fatalf("error shows %q: %v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.VendorID != tc.wantID {
				t.Fatalf("VendorID = %q, want %q", res.VendorID, tc.wantID)
			}
			if d.Flow != FlowUser && res.IDName != IDName {
				t.Fatalf("IDName = %q", res.IDName)
			}
			link := res.Attributes[AttrInviteLink]
			if want := "https://portal.example/vc/next/visits/join/code" + tc.wantID; tc.wantLink && link != want {
				t.Fatalf("invite link = %q, want %q", link, want)
			} else if !tc.wantLink && link != "" {
				t.Fatalf("unexpected invite link %q", link)
			}
			for _, k := range tc.wantCalled {
				if f.count(k) != 1 {
					t.Fatalf("%s called %d times (calls %v)", k, f.count(k), f.calls)
				}
			}
			for k, v := range res.Attributes {
				if strings.Contains(v, "tokx") {
					t.Fatalf("attribute %s holds the SSO token", k)
				}
			}
		})
	}
}

// TestInDoubtVisitNotRepeated: a visit create whose answer is lost is
// Permanent ErrInDoubt, and nothing is sent again.
func TestInDoubtVisitNotRepeated(t *testing.T) {
	f, srv := newFake(t)
	f.hang["POST /visits"] = true
	c := newConn(t, srv.URL, func(cfg *Config) { cfg.Timeout = connectors.Duration(100 * time.Millisecond) })
	d := connectors.Delivery{Flow: FlowVisit, Op: connectors.Create, Parent: "m-pat-1", ResourceType: "Appointment", ResourceID: "ap-1",
		Body: body(t, `{"user":`+user1+`,"start":"2026-12-01T10:00:00Z"}`)}
	_, err := c.Deliver(context.Background(), d)
	if !errors.Is(err, ErrInDoubt) {
		t.Fatalf("err = %v, want ErrInDoubt", err)
	}
	if cl, _ := connectors.Classify(err); cl != connectors.Permanent {
		t.Fatalf("class = %v, want Permanent", cl)
	}
	if n := f.count("POST /visits"); n != 1 {
		t.Fatalf("POST /visits sent %d times", n)
	}
}

func TestRetryAfter(t *testing.T) {
	f, srv := newFake(t)
	f.fail["POST /users/sso"] = 429
	_, _, err := newConn(t, srv.URL, nil).SSO(context.Background(), ProbeUser)
	if cl, wait := connectors.Classify(err); cl != connectors.Transient || wait != 7*time.Second {
		t.Fatalf("class %v wait %v, want Transient 7s", cl, wait)
	}
}

func TestProbe(t *testing.T) {
	f, srv := newFake(t)
	if _, err := newConn(t, srv.URL, nil).Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.fail["POST /users/sso"] = 403
	_, err := newConn(t, srv.URL, nil).Probe(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "HTTP 403") || !errors.Is(err, ErrCredentials) {
		t.Fatalf("err = %v", err)
	}
	if s := fmt.Sprintf("%v %+v", newConn(t, srv.URL, nil), newConn(t, srv.URL, nil)); strings.Contains(s, "secret") {
		t.Fatalf("connector prints a secret: %s", s)
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add(FlowUser, []byte(user1))
	f.Add(FlowVisit, []byte(`{"user":`+user1+`,"start":"x"}`))
	f.Add(FlowVisit, []byte(`{"user":null}`))
	f.Fuzz(func(t *testing.T, flow string, data []byte) {
		r, err := parseRecord(flow, data)
		if err == nil && (r.User == nil || r.User.Code == "") {
			t.Fatal("accepted a record without user.code")
		}
		if err != nil && !errors.Is(err, ErrRecord) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
