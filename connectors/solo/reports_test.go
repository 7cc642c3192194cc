package solo

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yeka/zip"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func day(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}

func TestCSVDataDump(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	e.sim.ReportRowsPerDay(5)
	var b bytes.Buffer
	n, err := e.c.CSVDataDump(context.Background(), day("2026-03-01"), day("2026-03-03"), &b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("n %d err %v", n, err)
	}
	first := b.String()
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+3*5 || strings.Join(recs[0], ",") != strings.Join(solosim.ReportColumns, ",") {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	// deterministic: the same range gives the same bytes
	var again bytes.Buffer
	if _, err := e.c.CSVDataDump(context.Background(), day("2026-03-01"), day("2026-03-03"), &again); err != nil {
		t.Fatal(err)
	}
	if again.String() != first {
		t.Error("the dump is not deterministic")
	}
}

func TestCSVDataDumpErrors(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	tests := []struct {
		name     string
		from, to string
		status   int
		class    connectors.Class
	}{
		{"backwards", "2026-03-03", "2026-03-01", 400, connectors.Permanent},
		{"too long", "2024-01-01", "2026-01-01", 400, connectors.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.CSVDataDump(context.Background(), day(tt.from), day(tt.to), io.Discard)
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tt.status {
				t.Fatalf("err %v", err)
			}
			if c, _ := connectors.Classify(err); c != tt.class {
				t.Errorf("class %v", c)
			}
		})
	}
	// missing parameters straight at the simulator
	for _, q := range []string{"", "?from=2026-03-01", "?from=2026-03-01&to=03/04/2026"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/qapi/v1/reports/csv-data-dump"+q, nil)
		req.Header.Set("Api-Key", solosim.DefaultAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%q: %d", q, resp.StatusCode)
		}
	}
	bad := mustNew(t, Config{BaseURL: e.srv.URL, APIKey: "wrong"})
	if _, err := bad.CSVDataDump(context.Background(), day("2026-03-01"), day("2026-03-01"), io.Discard); !errors.As(err, new(*StatusError)) {
		t.Errorf("wrong key: %v", err)
	} else if c, _ := connectors.Classify(err); c != connectors.Reconnect {
		t.Errorf("wrong key class %v", c)
	}
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestEncounterReport(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	e.sim.ReportRowsPerDay(4)
	ctx := context.Background()
	from, to := day("2026-03-01"), day("2026-03-02")
	req := EncounterReportRequest{From: from, To: to, PresetID: "a2c6e3fc-c2f7-4a24-a0d6-eb2343a15469", Password: "IK5adv2N5V-gr£9v6"}
	id, status, err := e.c.CreateEncounterReport(ctx, req)
	if err != nil || status != ReportPending || id == "" {
		t.Fatalf("create: %q %q %v", id, status, err)
	}
	// not ready yet: 409
	if _, err := e.c.DownloadEncounterReport(ctx, id, io.Discard); !errors.As(err, new(*StatusError)) {
		t.Fatalf("early download: %v", err)
	}
	var polls []string
	var waits []time.Duration
	b := Backoff{Initial: time.Second, Max: 3 * time.Second, Factor: 2, Timeout: time.Minute,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	if err := e.c.WaitEncounterReport(ctx, id, b, func(s string) { polls = append(polls, s) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(polls, ",") != "pending,pending,completed" || len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Fatalf("polls %v waits %v", polls, waits)
	}
	var zb bytes.Buffer
	if _, err := e.c.DownloadEncounterReport(ctx, id, &zb); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb.Bytes()), int64(zb.Len()))
	if err != nil || len(zr.File) != 1 || !zr.File[0].IsEncrypted() {
		t.Fatalf("zip: %v", err)
	}
	zr.File[0].SetPassword(req.Password)
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(rc).ReadAll()
	if err != nil || len(recs) != 1+2*4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}

func TestEncounterReportErrors(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	ctx := context.Background()
	good := EncounterReportRequest{From: day("2026-03-01"), To: day("2026-03-02"), PresetID: "a2c6e3fc-c2f7-4a24-a0d6-eb2343a15469", Password: "pw"}
	for name, mod := range map[string]func(*EncounterReportRequest){
		"preset not a UUID": func(r *EncounterReportRequest) { r.PresetID = "preset-1" },
		"blank password":    func(r *EncounterReportRequest) { r.Password = "" },
		"backwards":         func(r *EncounterReportRequest) { r.From, r.To = r.To, r.From },
	} {
		t.Run(name, func(t *testing.T) {
			r := good
			mod(&r)
			_, _, err := e.c.CreateEncounterReport(ctx, r)
			var se *StatusError
			if !errors.As(err, &se) || se.Status != 400 {
				t.Fatalf("err %v", err)
			}
			if strings.Contains(err.Error(), "pw") && r.Password != "" {
				t.Error("the error shows the password")
			}
		})
	}
	t.Run("unknown report", func(t *testing.T) {
		_, err := e.c.EncounterReportStatus(ctx, "nope")
		var se *StatusError
		if !errors.As(err, &se) || se.Status != 404 {
			t.Fatalf("status: %v", err)
		}
		if _, err := e.c.DownloadEncounterReport(ctx, "nope", io.Discard); !errors.As(err, &se) || se.Status != 404 {
			t.Fatalf("download: %v", err)
		}
	})
	t.Run("failed report", func(t *testing.T) {
		r := good
		r.PresetID = solosim.FailingPreset
		id, _, err := e.c.CreateEncounterReport(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		b := DefaultBackoff
		b.Sleep = noSleep
		if err := e.c.WaitEncounterReport(ctx, id, b, nil); !errors.Is(err, ErrReportFailed) {
			t.Fatalf("wait: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e.sim.ReportPendingPolls(1000)
		defer e.sim.ReportPendingPolls(2)
		id, _, err := e.c.CreateEncounterReport(ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(0, 0)
		b := Backoff{Initial: time.Second, Max: 10 * time.Second, Factor: 2, Timeout: time.Minute,
			Now:   func() time.Time { return now },
			Sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil }}
		if err := e.c.WaitEncounterReport(ctx, id, b, nil); !errors.Is(err, ErrReportTimeout) {
			t.Fatalf("wait: %v", err)
		}
	})
	t.Run("transient status then ready", func(t *testing.T) {
		id, _, err := e.c.CreateEncounterReport(ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		e.sim.Inject(solosim.Fault{Status: 503, Times: 1})
		b := DefaultBackoff
		b.Sleep = noSleep
		if err := e.c.WaitEncounterReport(ctx, id, b, nil); err != nil {
			t.Fatalf("wait: %v", err)
		}
	})
}
