package export

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestUploadRetry covers the upload outcomes: transient failures retried
// with backoff, permanent failures and host key mismatches not retried,
// the deadline, and a reconnect on a new session.
func TestUploadRetry(t *testing.T) {
	transient := connectors.Transiently(errNet, 0)
	cases := []struct {
		name        string
		fail        []error
		reopen      bool
		deadline    time.Duration // from the start; 0: default
		wantErr     error         // matched with errors.Is; nil: success
		wantTries   int           // Put calls on the first remote (0: 4 to 7, jitter decides)
		wantFiles   int
		wantOutcome string
	}{
		{"two transient failures then success", []error{transient, errNet}, false, 0, nil, 4, 2, ledger.OutcomeOK},
		{"transient failure of the manifest", []error{nil, transient}, false, 0, nil, 3, 2, ledger.OutcomeOK},
		{"permanent failure", []error{connectors.Permanently(errors.New("550 permission denied"))}, false, 0, errPermanent, 1, 0, ledger.OutcomeFailed},
		{"host key mismatch", []error{connectors.NeedsReconnect(fmt.Errorf("sftp: %w", connectors.ErrHostKey))}, true, 0, connectors.ErrHostKey, 1, 0, ledger.OutcomeFailed},
		{"deadline passes", []error{transient, transient, transient, transient, transient, transient, transient, transient}, false, 10 * time.Second, ErrDeadline, 0, 0, ledger.OutcomeFailed},
		{"reconnect on a new session", []error{connectors.NeedsReconnect(errors.New("session closed"))}, true, 0, nil, 1, 0, ledger.OutcomeOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			spec := mustSpec(t, "retry", "tuotempo/export", nil)
			remote := newFakeRemote(tc.fail...)
			second := newFakeRemote()
			clock := &fakeClock{now: exportAt}
			opt := RunOptions{Clock: clock, Backoff: time.Second, MaxBackoff: 4 * time.Second}
			if tc.deadline > 0 {
				opt.Deadline = exportAt.Add(tc.deadline)
			}
			if tc.reopen {
				opt.Reopen = func(context.Context) (connectors.Remote, error) { return second, nil }
			}
			res, err := Run(context.Background(), st, remote, spec, exportAt, opt)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Run: %v", err)
			case tc.wantErr == errPermanent:
				if c, _ := connectors.Classify(err); err == nil || c != connectors.Permanent {
					t.Fatalf("Run: %v, want a permanent failure", err)
				}
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Run: %v, want %v", err, tc.wantErr)
			}
			// waits of [0.5,1], [1,2], then [2,4] s: the 10 s deadline
			// allows 4 to 7 tries
			okTries := remote.tries == tc.wantTries || tc.wantTries == 0 && remote.tries >= 4 && remote.tries <= 7
			if !okTries || len(remote.files) != tc.wantFiles {
				t.Errorf("first remote: %d Puts, files %v; want %d Puts, %d files", remote.tries, remote.names(), tc.wantTries, tc.wantFiles)
			}
			if tc.reopen && tc.wantErr == nil && (len(second.files) != 2 || !remote.closed) {
				t.Errorf("after a reconnect: second remote has %v, first closed %v", second.names(), remote.closed)
			}
			es := ledgerEntries(t, st)
			if len(es) != 1 || es[0].Outcome != tc.wantOutcome || es[0].Path != res.File {
				t.Fatalf("ledger %+v, want one %s entry", es, tc.wantOutcome)
			}
			if tc.wantErr != nil && strings.Contains(es[0].Detail, "550") {
				t.Errorf("ledger detail carries the server's text: %q", es[0].Detail)
			}
			for i, w := range clock.waits {
				if limit := time.Second << i; w > limit || w > opt.MaxBackoff {
					t.Errorf("wait %d is %v, over the backoff %v", i, w, min(limit, opt.MaxBackoff))
				}
			}
		})
	}
}

// errPermanent marks a case expecting a Permanent classification.
var errPermanent = errors.New("permanent")

// TestBackoffGrowsWithJitter: waits double up to the cap, each within
// [d/2, d].
func TestBackoffGrowsWithJitter(t *testing.T) {
	u := &uploader{initial: time.Second, max: 30 * time.Second}
	for try, d := range []time.Duration{1, 2, 4, 8, 16, 30, 30, 30} {
		d *= time.Second
		for range 50 {
			if w := u.backoff(try); w < d/2 || w > d {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", try, w, d/2, d)
			}
		}
	}
	if w := u.backoff(200); w > 30*time.Second {
		t.Errorf("backoff(200) = %v", w)
	}
}

func errPermanentFailure() error { return connectors.Permanently(errors.New("550 denied")) }
