package connectors

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads a Retry-After header value (RFC 9110 §10.2.3: delay
// seconds or an HTTP date, taken relative to now) as a wait of at most
// limit (no cap when limit <= 0). It is 0 when the value is absent,
// unreadable, not positive or in the past.
func RetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if limit > 0 && n > int64(limit/time.Second) {
			return limit
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	d = max(d, 0)
	if limit > 0 {
		d = min(d, limit)
	}
	return d
}
