package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func TestCheckConnectWaitingRooms(t *testing.T) {
	t.Setenv("CHECK_SOLO_KEY", "k-check")
	// a site's own copy of the mapping with a code map of its own
	own := t.TempDir()
	copyShipped(t, "solo/appointment.yaml", filepath.Join(own, "appointment.yaml"))
	os.WriteFile(filepath.Join(own, "waiting-rooms.csv"), []byte("service_type,waiting_room\n57,General Practice\n165,Cardiology\n"), 0o600)
	tests := []struct {
		name    string
		rooms   []string
		routes  string
		slots   string
		code    int
		want    []string
		notWant []string
	}{
		{name: "every lookup names a room",
			rooms:  []string{"General Practice", "Dermatology", "Telehealth"},
			routes: `  - {name: appts, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}`,
			code:   0, want: []string{"ok  --connect: 3 waiting rooms at Solo; all 6 waitingRoom lookups name one"}},
		{name: "the shipped code map and the param name missing rooms",
			rooms:  []string{"General Practice"},
			routes: `  - {name: appts, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}`,
			slots:  `    slots: {schedules: {gp: General Practice, derm: Dermatology}}`,
			code:   1,
			want: []string{
				`routes[0] (appts): waiting-rooms.csv row 4 (service_type 165): waiting room "Dermatology" does not exist at Solo`,
				`routes[0] (appts): waiting-rooms.csv row 6 (service_type 394582007): waiting room "Dermatology" does not exist at Solo`,
				`routes[0] (appts): param waiting_room: waiting room "Telehealth" does not exist at Solo`,
				`connectors.solo.slots.schedules.derm: waiting room "Dermatology" does not exist at Solo`,
				`Solo's waiting rooms: "General Practice"`,
			},
			notWant: []string{"row 2 ", "schedules.gp", "k-check"}},
		{name: "a site's own mapping file and its code map",
			rooms:   []string{"General Practice"},
			routes:  `  - {name: own, resource: Appointment, mapping: ` + filepath.Join(own, "appointment.yaml") + `, connector: solo}`,
			code:    1,
			want:    []string{`routes[0] (own): waiting-rooms.csv row 3 (service_type 165): waiting room "Cardiology" does not exist at Solo`},
			notWant: []string{"Dermatology", "param waiting_room"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := solosim.New(solosim.Options{APIKey: "k-check", WaitingRooms: tt.rooms})
			srv := httptest.NewServer(sim)
			defer srv.Close()
			cfg := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(cfg, []byte(`connectors:
  solo:
    base_url: "`+srv.URL+`"
    api_key: {env: CHECK_SOLO_KEY}
`+tt.slots+`
routes:
`+tt.routes+"\n"), 0o600)
			// offline, nothing is asked of Solo
			if _, stderr, code := run(t, "", "check", "--config", cfg); code != 0 || len(sim.Requests()) != 0 {
				t.Fatalf("offline check: exit %d, %d calls to Solo\n%s", code, len(sim.Requests()), stderr)
			}
			out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+stderr, w) {
					t.Errorf("output lacks %s\n%s%s", w, out, stderr)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out+stderr, w) {
					t.Errorf("output has %s\n%s%s", w, out, stderr)
				}
			}
		})
	}
	if _, stderr, code := run(t, "", "check", "--connect"); code == 0 || !strings.Contains(stderr, "--connect needs --config") {
		t.Errorf("--connect alone: exit %d %s", code, stderr)
	}
}
