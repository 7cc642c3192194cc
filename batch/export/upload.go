package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Clock is the time source of exports and the Runner, injected so tests
// never sleep.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed (at once when d <= 0).
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real Clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ErrDeadline is matched by the error of an export whose upload did not
// succeed before its deadline.
var ErrDeadline = errors.New("export deadline passed")

// uploader puts files on a remote, retrying transient and reconnect
// failures with exponential backoff and jitter until a deadline.
type uploader struct {
	remote   connectors.Remote
	reopen   func(context.Context) (connectors.Remote, error)
	clock    Clock
	initial  time.Duration
	max      time.Duration
	deadline time.Time
	attempts int // Put calls so far, over all files
}

// put writes name from src (called again for each attempt), returning
// the bytes written.
func (u *uploader) put(ctx context.Context, name string, src func() (io.Reader, error)) (int64, error) {
	for try := 0; ; try++ {
		if u.remote == nil {
			if err := u.reconnect(ctx); err != nil {
				if err := u.wait(ctx, try, err); err != nil {
					return 0, err
				}
				continue
			}
		}
		r, err := src()
		if err != nil {
			return 0, err
		}
		u.attempts++
		n, err := u.remote.Put(ctx, name, r)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("uploading %s: %w", name, ctx.Err())
		}
		class, _ := connectors.Classify(err)
		switch {
		case errors.Is(err, connectors.ErrHostKey), class == connectors.Permanent:
			return 0, fmt.Errorf("uploading %s: %w", name, err)
		case class == connectors.Reconnect && u.reopen != nil:
			u.remote.Close()
			u.remote = nil
		}
		if err := u.wait(ctx, try, fmt.Errorf("uploading %s: %w", name, err)); err != nil {
			return 0, err
		}
	}
}

// reconnect opens a new session through reopen.
func (u *uploader) reconnect(ctx context.Context) error {
	r, err := u.reopen(ctx)
	if err != nil {
		return fmt.Errorf("reconnecting to the remote: %w", err)
	}
	u.remote = r
	return nil
}

// wait sleeps before retry try+1 after err, or returns err (wrapped with
// ErrDeadline) when the deadline would pass first.
func (u *uploader) wait(ctx context.Context, try int, err error) error {
	if errors.Is(err, connectors.ErrHostKey) {
		return err
	}
	if class, _ := connectors.Classify(err); class == connectors.Permanent {
		return err
	}
	d := u.backoff(try)
	if _, after := connectors.Classify(err); after > d {
		d = after
	}
	if !u.deadline.IsZero() && u.clock.Now().Add(d).After(u.deadline) {
		return fmt.Errorf("%w after %d attempts: %w", ErrDeadline, u.attempts, err)
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w (waiting to retry)", ctx.Err())
	case <-u.clock.After(d):
		return nil
	}
}

// backoff is the wait before retry try+1: initial·2^try capped at max,
// with "equal jitter" (half fixed, half random) so that several bridges
// do not retry in step.
func (u *uploader) backoff(try int) time.Duration {
	d := u.max
	if try < 30 {
		d = min(u.initial<<try, u.max)
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
