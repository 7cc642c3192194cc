package solo

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func TestWebhookEndpoints(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	ctx := context.Background()
	wh, err := e.c.AddWebhook(ctx, "https://bridge.example/solo/webhooks/tok", []string{"appointment:completed", "appointment:lwbs"})
	if err != nil {
		t.Fatal(err)
	}
	if wh.ID == "" || wh.EncryptionKey == "" || len(wh.Events) != 2 {
		t.Fatalf("add: %+v", wh)
	}
	if fmtd := strings.Join([]string{wh.EncryptionKey.String()}, ""); strings.Contains(fmtd, wh.EncryptionKey.Reveal()) {
		t.Fatal("the key prints")
	}
	got, err := e.c.GetWebhook(ctx, wh.ID)
	if err != nil || got.EncryptionKey != wh.EncryptionKey || got.Endpoint != wh.Endpoint {
		t.Fatalf("get: %+v %v", got, err)
	}
	upd, err := e.c.UpdateWebhook(ctx, wh.ID, "https://bridge.example/solo/webhooks/tok2", []string{"appointment:cancelled"})
	if err != nil || upd.Endpoint != "https://bridge.example/solo/webhooks/tok2" || upd.EncryptionKey != "" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	list, err := e.c.ListWebhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != wh.ID || list[0].Events[0] != "appointment:cancelled" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := e.c.DeleteWebhook(ctx, wh.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.c.ListWebhooks(ctx); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}

	bad := mustNew(t, Config{BaseURL: e.srv.URL, APIKey: "wrong"})
	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		class  connectors.Class
	}{
		{"get a deleted webhook", func() error { _, err := e.c.GetWebhook(ctx, wh.ID); return err }, 404, connectors.Permanent},
		{"update an unknown webhook", func() error {
			_, err := e.c.UpdateWebhook(ctx, "nope", "https://x.example/a", []string{"patient:created"})
			return err
		}, 404, connectors.Permanent},
		{"delete an unknown webhook", func() error { return e.c.DeleteWebhook(ctx, "nope") }, 404, connectors.Permanent},
		{"add with a relative endpoint", func() error {
			_, err := e.c.AddWebhook(ctx, "/relative", []string{"patient:created"})
			return err
		}, 400, connectors.Permanent},
		{"list with a wrong key", func() error { _, err := bad.ListWebhooks(ctx); return err }, 401, connectors.Reconnect},
		{"add with a wrong key", func() error {
			_, err := bad.AddWebhook(ctx, "https://x.example/a", []string{"patient:created"})
			return err
		}, 401, connectors.Reconnect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if statusOf(err) != tc.status {
				t.Fatalf("got %v, want status %d", err, tc.status)
			}
			if c, _ := connectors.Classify(err); c != tc.class {
				t.Fatalf("class %v, want %v", c, tc.class)
			}
		})
	}
	if _, err := e.c.AddWebhook(ctx, "https://x.example/a", []string{"appointment:teleported"}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("unknown event: %v", err)
	}
	if _, err := e.c.AddWebhook(ctx, "https://x.example/a", nil); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("no events: %v", err)
	}
}

func TestStatusFetches(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	ctx := context.Background()
	if _, err := e.c.Deliver(ctx, patientCreate(t, true)); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Deliver(ctx, apptCreate(t, "pat-1", true))
	if err != nil {
		t.Fatal(err)
	}
	said := res.VendorID
	if _, err := e.sim.SetAppointmentStatus(mustAtoi(t, said), "completed", "LWBS"); err != nil {
		t.Fatal(err)
	}
	body, err := e.c.AppointmentJSON(ctx, said)
	if err != nil || !strings.Contains(string(body), `"status":"completed"`) {
		t.Fatalf("appointment: %s %v", body, err)
	}
	spid := strconv.Itoa(e.sim.Patients()[0].SPID)
	if body, err := e.c.PatientJSONBySPID(ctx, spid); err != nil || !strings.Contains(string(body), `"id":"pat-1"`) {
		t.Fatalf("patient: %v", err)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"unknown appointment", func() error { _, err := e.c.AppointmentJSON(ctx, "999999"); return err }},
		{"unknown patient", func() error { _, err := e.c.PatientJSONBySPID(ctx, "999999"); return err }},
		{"unknown episode", func() error { _, err := e.c.EpisodeJSON(ctx, "00000000-0000-4000-8000-000000000999"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); statusOf(err) != http.StatusNotFound {
				t.Fatalf("got %v, want 404", err)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRedactEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://bridge.example/solo/webhooks/abcdef0123": "https://bridge.example/solo/webhooks/…",
		"https://u:p@bridge.example/x?q=1":                "https://bridge.example/…",
	} {
		if got := RedactEndpoint(in); got != want {
			t.Errorf("RedactEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
