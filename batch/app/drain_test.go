package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestWaitBackground: the stop waits for background tasks that end, and
// stops waiting at the drain deadline for one that does not, saying how
// many were left.
func TestWaitBackground(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tasks    int
		finish   int // tasks that report done
		wantWarn bool
	}{
		{"all end", 3, 3, false},
		{"none", 0, 0, false},
		{"one hangs", 3, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			done := make(chan struct{}, tc.tasks)
			for range tc.finish {
				go func() { time.Sleep(20 * time.Millisecond); done <- struct{}{} }()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			waitBackground(ctx, done, tc.tasks, log)
			took := time.Since(start)
			warned := strings.Contains(logs.String(), "background work still running at the end of the drain time")
			if warned != tc.wantWarn {
				t.Fatalf("warned %v, want %v: %s", warned, tc.wantWarn, logs.String())
			}
			if tc.wantWarn {
				if took < 250*time.Millisecond || !strings.Contains(logs.String(), "tasks=1") {
					t.Errorf("returned after %s with %q; want the deadline and tasks=1", took, logs.String())
				}
			} else if took > 250*time.Millisecond {
				t.Errorf("waited %s for tasks that had ended", took)
			}
		})
	}
}
