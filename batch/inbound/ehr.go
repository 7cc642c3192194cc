package inbound

import (
	"context"

	"github.com/fhirbridge/fhirbridge/batch/ehrpush"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// checkEHR validates the EHR of a job's Options, if any.
func checkEHR(job string, ehr *EHR) error {
	if ehr == nil {
		return nil
	}
	_, err := ehrpush.New(nil, ehrpush.Config{Queue: job, Endpoint: ehrpush.Endpoint(*ehr)})
	return err
}

// pusher is the job's EHR pusher: its queue is the job's name, so each
// job pushes and reports its own Appointments. It is nil without an EHR.
func (p *Poller) pusher() (*ehrpush.Pusher, error) {
	if p.opt.EHR == nil {
		return nil, nil
	}
	return ehrpush.New(p.st, ehrpush.Config{
		Queue:    p.spec.Name,
		Endpoint: ehrpush.Endpoint(*p.opt.EHR),
		Now:      p.now,
		Observe:  func(r ehrpush.Result) { p.opt.Metrics.push(p.spec.Name, r.Err == nil) },
	})
}

// queuePush records, in the transaction that stored version of Appointment
// id, that it must be pushed to the EHR.
func (p *Poller) queuePush(ctx context.Context, tx *store.Tx, id string, version int) error {
	ps, err := p.pusher()
	if err != nil || ps == nil {
		return err
	}
	return ps.Queue(ctx, tx, "Appointment", id, version)
}

// pushPending PUTs the job's due Appointments to the EHR (see package
// batch/ehrpush for the retries); a failure to read the queue is one
// result without an id.
func (p *Poller) pushPending(ctx context.Context) []PushResult {
	ps, err := p.pusher()
	if ps == nil && err == nil {
		return nil
	}
	var res []ehrpush.Result
	if err == nil {
		res, err = ps.Push(ctx)
	}
	out := make([]PushResult, 0, len(res)+1)
	for _, r := range res {
		out = append(out, PushResult{AppointmentID: r.ID, Status: r.Status, Attempts: r.Attempts, Dead: r.Dead, Err: r.Err})
	}
	if err != nil {
		out = append(out, PushResult{Err: err})
	}
	return out
}
