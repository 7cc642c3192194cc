package inbound

import (
	"context"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestEHRWriteBack: with an EHR flow, every changed Appointment becomes a
// delivery job of that flow for the stored version, committed with the
// change; an unchanged Appointment (the same file again) or a job without
// the flow enqueues nothing. Sending, retries and dead letters belong to
// the delivery Runner (connectors/ehr tests them through the queue).
func TestEHRWriteBack(t *testing.T) {
	tests := []struct {
		name string
		flow string
		want int // jobs of the flow after the file
	}{
		{name: "with the EHR flow", flow: delivery.EHRFlow, want: 1},
		{name: "without an EHR", flow: "", want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			metrics := NewMetrics()
			e := newEnv(t, Spec{}, Options{EHRFlow: tc.flow, Metrics: metrics}, "a1")
			e.remote.write("cancellations_1.csv", rows("a1;;;;p;CANCELLED by USER"))
			e.poll(0)
			if rep := e.poll(2 * time.Minute); rep.Err() != nil {
				t.Fatalf("poll: %v", rep.Err())
			}
			_, version := e.appointment("a1")
			jobs, err := delivery.NewQueue(e.st).List(context.Background(), delivery.Filter{Flow: delivery.EHRFlow})
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != tc.want {
				t.Fatalf("%d jobs %+v, want %d", len(jobs), jobs, tc.want)
			}
			for _, j := range jobs {
				if j.ResourceType != "Appointment" || j.ResourceID != "a1" || j.Version != version || j.State != delivery.StatePending {
					t.Errorf("job %+v, want pending Appointment/a1 version %d", j, version)
				}
			}
			// the same content again changes nothing and enqueues nothing
			e.remote.write("cancellations_2.csv", rows("a1;;;;p;CANCELLED by USER"))
			e.poll(0)
			e.poll(2 * time.Minute)
			again, err := delivery.NewQueue(e.st).List(context.Background(), delivery.Filter{Flow: delivery.EHRFlow})
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != tc.want {
				t.Errorf("after an unchanged file: %d jobs, want %d", len(again), tc.want)
			}
			if got := testutil.ToFloat64(metrics.files.WithLabelValues("tuotempo-cancellations", "ok")); got < 1 {
				t.Errorf("files metric %v", got)
			}
		})
	}
}
