package delivery

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    Rate
		perSec  float64
		wantErr string
	}{
		{"", Rate{}, 0, ""},
		{"10/s", Rate{10, time.Second}, 10, ""},
		{" 600 / min ", Rate{600, time.Minute}, 10, ""},
		{"3600/h", Rate{3600, time.Hour}, 1, ""},
		{"5/10s", Rate{5, 10 * time.Second}, 0.5, ""},
		{"1/second", Rate{1, time.Second}, 1, ""},
		{"10", Rate{}, 0, "want N/unit"},
		{"0/s", Rate{}, 0, "from 1 to 1000000"},
		{"-1/s", Rate{}, 0, "from 1 to 1000000"},
		{"10/d", Rate{}, 0, "unit must be"},
		{"10/0s", Rate{}, 0, "period's count"},
		{"10/99999s", Rate{}, 0, "period's count"},
		{strings.Repeat("1", 40) + "/s", Rate{}, 0, "longer than"},
	} {
		got, err := ParseRate(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseRate(%q) error = %v, want one containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want || got.PerSecond() != c.perSec {
			t.Errorf("ParseRate(%q) = %+v (%v/s), %v; want %+v (%v/s)", c.in, got, got.PerSecond(), err, c.want, c.perSec)
		}
		if back, err := ParseRate(got.String()); err != nil || back != got {
			t.Errorf("ParseRate(%q.String() = %q) = %+v, %v", c.in, got.String(), back, err)
		}
	}
}

// FuzzParseRate: any text either fails or gives a positive rate that
// reads back the same from its String.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/s", "600/min", "5/10s", "1/h", "", "x/s", "10/", "/s", "1/86400s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil || s == "" {
			return
		}
		if r.N < 1 || r.Per < time.Second || r.PerSecond() <= 0 {
			t.Fatalf("ParseRate(%q) = %+v", s, r)
		}
		if back, err := ParseRate(r.String()); err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %+v; its String %q reads back %+v, %v", s, r, r.String(), back, err)
		}
	})
}

// TestEnqueueWakesRunner: a job enqueued while the runner waits out a
// long poll is claimed at once: woken by NOTIFY on PostgreSQL, by the
// enqueue itself on SQLite.
func TestEnqueueWakesRunner(t *testing.T) {
	url := storeURL(t)
	got := make(chan time.Time, 4)
	flows := map[string]Flow{"w/a": {Vendor: "w", Work: func(ctx context.Context, w Work) error {
		got <- time.Now()
		return nil
	}}}
	p := openReplica(t, url, flows, Options{PollInterval: time.Hour}, nil)
	p.start()
	// the first claim round runs at start; the listener connects
	// meanwhile: enqueue once both are surely past
	time.Sleep(300 * time.Millisecond)
	for i := range 2 {
		start := time.Now()
		err := p.st.InTx(context.Background(), func(tx *store.Tx) error {
			_, err := EnqueueWork(context.Background(), tx, WorkJob{Flow: "w/a", Kind: "test", Key: string(rune('a' + i))})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			t.Logf("job %d worked %s after its enqueue committed", i, at.Sub(start).Round(time.Microsecond))
		case <-time.After(5 * time.Second):
			t.Fatalf("job %d not worked 5 s after its enqueue (the poll is an hour)", i)
		}
	}
	source := "local"
	if !p.st.SingleProcess() {
		source = "notify"
	}
	if n := testutil.ToFloat64(p.r.metrics.limits.wakeups.WithLabelValues(source)); n < 2 {
		t.Errorf("%v %s wake-ups, want at least 2", n, source)
	}
}
