package connectors

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in    string
		limit time.Duration
		want  time.Duration
	}{
		{"", time.Hour, 0},
		{" 120 ", time.Hour, 2 * time.Minute},
		{"0", time.Hour, 0},
		{"-5", time.Hour, 0},
		{"soon", time.Hour, 0},
		{"7200", time.Hour, time.Hour},
		{"7200", 0, 2 * time.Hour},
		{"99999999999999999999", time.Hour, 0}, // not a number Go can hold
		{now.Add(90 * time.Second).Format(http.TimeFormat), time.Hour, 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), time.Hour, 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour, time.Hour},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), 0, 48 * time.Hour},
	}
	for _, c := range cases {
		if got := RetryAfter(c.in, now, c.limit); got != c.want {
			t.Errorf("RetryAfter(%q, limit %v) = %v, want %v", c.in, c.limit, got, c.want)
		}
	}
}
