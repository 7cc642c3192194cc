package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// markKey keys a test value in a request's context; markHandler logs it
// as "mark", showing which lines were logged with the request's context
// (as the application's handler adds the request id from it).
type markKey struct{}

type markHandler struct{ slog.Handler }

func (m markHandler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := ctx.Value(markKey{}).(string); ok {
		r.AddAttrs(slog.String("mark", v))
	}
	return m.Handler.Handle(ctx, r)
}
func (m markHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return markHandler{m.Handler.WithAttrs(as)}
}

func TestBundleLogTag(t *testing.T) {
	const ident = "MSG-4711-MRN-99887766"
	sum := sha256.Sum256([]byte("urn:ietf:rfc:3986|" + ident))
	tag := hex.EncodeToString(sum[:6])
	txn := bundle("transaction", ident, entry("urn:uuid:a", "POST", "Patient", patient))
	other := bundle("transaction", ident, entry("urn:uuid:a", "POST", "Patient", patient), entry("urn:uuid:b", "POST", "Patient", patient))
	tests := []struct {
		name    string
		mode    string   // leakyBackend mode; "" a working backend
		bodies  []string // posted in order; the lines of the last are checked
		msg     string   // a line that must be logged, besides "request"
		wantTag string
	}{
		{"transaction", "", []string{txn}, "", tag},
		{"replay", "", []string{txn, txn}, "idempotent replay", tag},
		{"identifier reused", "", []string{txn, other}, "Bundle.identifier reused for a different Bundle", tag},
		{"backend unavailable", "unavailable", []string{txn}, "backend call failed", tag},
		{"batch unavailable", "unavailable", []string{bundle("batch", ident, entry("", "POST", "Patient", patient))}, "backend call failed", tag},
		{"no identifier", "", []string{bundle("transaction", "", entry("urn:uuid:a", "POST", "Patient", patient))}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := &syncBuffer{}
			var b Backend = newFake()
			if tc.mode != "" {
				b = &leakyBackend{fakeBackend: newFake(), mode: tc.mode}
			}
			h := New(b, Options{Registry: prometheus.NewRegistry(),
				Logger: slog.New(markHandler{slog.NewJSONHandler(buf, nil)})})
			var start int
			for i, body := range tc.bodies {
				start = len(buf.String())
				mark := "req-" + string(rune('a'+i))
				r := httptest.NewRequest("POST", "/fhir", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/fhir+json")
				r = r.WithContext(context.WithValue(r.Context(), markKey{}, mark))
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			out := buf.String()
			// the value and its record-number part; not a bare number, which
			// the time stamps' nanoseconds hold by chance
			if strings.Contains(out, ident) || strings.Contains(out, "MRN-99887766") {
				t.Errorf("the identifier value is in the log:\n%s", out)
			}
			wantMark := "req-" + string(rune('a'+len(tc.bodies)-1))
			seen := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(out[start:]), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				msg, _ := m["msg"].(string)
				seen[msg] = true
				if m["mark"] != wantMark {
					t.Errorf("line %q not logged with the request's context: %s", msg, line)
				}
				got, _ := m["bundle"].(string)
				if got != tc.wantTag {
					t.Errorf("line %q bundle %q, want %q: %s", msg, got, tc.wantTag, line)
				}
			}
			for _, msg := range []string{"request", tc.msg} {
				if msg != "" && !seen[msg] {
					t.Errorf("no %q line:\n%s", msg, out[start:])
				}
			}
		})
	}
}

func TestBundleTag(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"system and value", `{"resourceType":"Bundle","identifier":{"system":"s","value":"v"}}`, "s|v"},
		{"value only", `{"resourceType":"Bundle","identifier":{"value":"v"}}`, "|v"},
		{"no value", `{"resourceType":"Bundle","identifier":{"system":"s"}}`, ""},
		{"no identifier", `{"resourceType":"Bundle"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, e := (&handler{}).parse([]byte(tc.body))
			if e != nil {
				t.Fatal(e)
			}
			want := ""
			if tc.want != "" {
				sum := sha256.Sum256([]byte(tc.want))
				want = hex.EncodeToString(sum[:6])
			}
			if got := bundleTag(v); got != want {
				t.Errorf("bundleTag = %q, want %q", got, want)
			}
		})
	}
}
