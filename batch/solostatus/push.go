package solostatus

import (
	"context"

	"github.com/fhirbridge/fhirbridge/batch/ehrpush"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// PushQueue is the ehr_push queue of the Solo status flow.
const PushQueue = "solo-status"

// PushResult is the outcome of one push (Type, ID, Version, Status,
// Attempts, Dead, Err).
type PushResult = ehrpush.Result

// pusher is the Syncer's EHR pusher, nil without an EHR. It is made on
// each use (it holds no state), so a Syncer stays a plain struct.
func (s *Syncer) pusher() (*ehrpush.Pusher, error) {
	if s.EHR == nil {
		return nil, nil
	}
	return ehrpush.New(s.Store, ehrpush.Config{
		Queue:       PushQueue,
		Endpoint:    *s.EHR,
		MaxAttempts: s.MaxAttempts,
		Now:         s.now,
		Log:         s.log(),
	})
}

// queuePush records, in the transaction that stored version of typ/id,
// that it must be PUT to the EHR.
func (s *Syncer) queuePush(ctx context.Context, tx *store.Tx, typ, id string, version int) error {
	p, err := s.pusher()
	if err != nil || p == nil {
		return err
	}
	return p.Queue(ctx, tx, typ, id, version)
}

// PushDue PUTs every queued resource that is due to the EHR, newest stored
// version each time (package batch/ehrpush): a 2xx removes the row; a
// failure is retried later with exponential backoff (30 s doubling, at
// most 1 h), and after MaxAttempts failures (or at once on a 4xx other
// than 408 and 429) the row is marked dead and stays for an operator. A
// failure to read the queue is one result without an id. Nothing is done
// when no EHR is configured.
func (s *Syncer) PushDue(ctx context.Context) []PushResult {
	p, err := s.pusher()
	if p == nil && err == nil {
		return nil
	}
	var out []PushResult
	if err == nil {
		out, err = p.Push(ctx)
	}
	if err != nil {
		out = append(out, PushResult{Err: err})
	}
	return out
}

// maxAttempts is MaxAttempts or its default.
func (s *Syncer) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return ehrpush.DefaultMaxAttempts
}
