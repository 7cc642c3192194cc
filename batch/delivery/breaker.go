package delivery

import (
	"math/rand/v2"
	"sync"
	"time"
)

// circuit is the state of one destination's breaker.
type circuit int

const (
	circuitClosed circuit = iota // jobs flow
	circuitOpen                  // cooling down: nothing is sent
	circuitProbe                 // cool-down over: one job at a time until one succeeds
)

// breaker is a per-destination circuit breaker: threshold consecutive
// failures open it for cooldown.
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu    sync.Mutex
	fails map[string]int
	until map[string]time.Time // zero: closed
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, fails: map[string]int{}, until: map[string]time.Time{}}
}

// state reports dest's circuit at now.
func (b *breaker) state(dest string, now time.Time) circuit {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.until[dest]
	switch {
	case !ok:
		return circuitClosed
	case now.Before(u):
		return circuitOpen
	default:
		return circuitProbe
	}
}

// success closes dest's circuit.
func (b *breaker) success(dest string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.fails, dest)
	delete(b.until, dest)
}

// failure counts a failure and opens the circuit at the threshold (or at
// once when the circuit was probing, or when trip is set). It reports
// whether the circuit is open now.
func (b *breaker) failure(dest string, now time.Time, trip bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fails[dest]++
	_, probing := b.until[dest]
	if trip || probing || b.fails[dest] >= b.threshold {
		b.until[dest] = now.Add(b.cooldown)
		return true
	}
	return false
}

// backoffCap is the bound of the n-th retry (n from 1): base·2^(n-1),
// at most max.
func backoffCap(base, max time.Duration, n int) time.Duration {
	c := base
	for i := 1; i < n && c < max; i++ {
		c *= 2
	}
	return min(c, max)
}

// uniform returns a uniformly random duration in [0, max].
func uniform(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(max) + 1))
}
