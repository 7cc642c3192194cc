package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		ok            bool
	}{
		{"", "", true},
		{"text", "debug", true},
		{"JSON", "Warn", true},
		{"json", "error", true},
		{"xml", "info", false},
		{"json", "verbose", false},
	} {
		_, err := New(&bytes.Buffer{}, tc.format, tc.level)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q, %q): err %v, want ok=%v", tc.format, tc.level, err, tc.ok)
		}
	}
}

func TestJSONOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-1")
	log.Debug("hidden")
	log.InfoContext(ctx, "first", "flow", "solo-patients")
	log.With("vendor", "solo").WarnContext(ctx, "second\nwith a newline")
	log.Error("third")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (debug filtered out):\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %s: %s", i+1, k, line)
			}
		}
		want := i < 2
		if got := m["request_id"] == "req-1"; got != want {
			t.Errorf("line %d request_id present=%v, want %v: %s", i+1, got, want, line)
		}
	}
}

func TestTextLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "text", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("no")
	log.Warn("yes")
	if strings.Contains(buf.String(), "msg=no") || !strings.Contains(buf.String(), "msg=yes") {
		t.Errorf("level warn: got %q", buf.String())
	}
}

func TestCleanRequestID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"req-123", true},
		{"a.b_c:d", true},
		{"", false},
		{"has space", false},
		{"new\nline", false},
		{"quote\"", false},
		{strings.Repeat("a", MaxRequestID), true},
		{strings.Repeat("a", MaxRequestID+1), false},
	} {
		if _, ok := CleanRequestID(tc.in); ok != tc.ok {
			t.Errorf("CleanRequestID(%q) = %v, want %v", tc.in, ok, tc.ok)
		}
	}
}

func TestMiddleware(t *testing.T) {
	var seen string
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = RequestID(r.Context()) }))
	for _, tc := range []struct{ header, want string }{
		{"req-abc", "req-abc"},
		{"bad id", ""},
		{"", ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set(HeaderRequestID, tc.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get(HeaderRequestID)
		if got != seen {
			t.Errorf("header %q: response id %q, context id %q", tc.header, got, seen)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("header %q: id %q, want it kept", tc.header, got)
		}
		if tc.want == "" && (len(got) != 32 || got == tc.header) {
			t.Errorf("header %q: id %q, want a generated one", tc.header, got)
		}
	}
}

func FuzzCleanRequestID(f *testing.F) {
	f.Add("req-1")
	f.Add("a b")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := CleanRequestID(s)
		if !ok {
			return
		}
		if id != s || len(id) > MaxRequestID || strings.ContainsAny(id, " \n\r\t\"=") {
			t.Fatalf("accepted %q", s)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "request_id", id)
		if strings.Count(buf.String(), "\n") != 1 {
			t.Fatalf("id %q broke the line", id)
		}
	})
}

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	log, _ := New(&buf, "json", "info")
	h := Middleware(AccessLog(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	r := httptest.NewRequest("POST", "/fhir/Patient?name=Canary", nil)
	r.Header.Set(HeaderRequestID, "req-77")
	h.ServeHTTP(httptest.NewRecorder(), r)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if m["request_id"] != "req-77" || m["status"] != float64(201) || m["path"] != "/fhir/Patient" || m["method"] != "POST" {
		t.Errorf("access line %s", buf.String())
	}
	if strings.Contains(buf.String(), "Canary") {
		t.Errorf("the query string was logged: %s", buf.String())
	}
}

func TestBind(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	bound := Bind(log, WithRequestID(context.Background(), "req-bound"))
	other := WithRequestID(context.Background(), "req-other")
	for _, tc := range []struct {
		name string
		log  func()
		want string // request_id; "" none
	}{
		{"no context", func() { bound.Info("a") }, "req-bound"},
		{"background", func() { bound.InfoContext(context.Background(), "b") }, "req-bound"},
		{"own context", func() { bound.InfoContext(other, "c") }, "req-other"},
		{"with attrs", func() { bound.With("job", 1).Warn("d") }, "req-bound"},
		{"unbound", func() { log.Info("f") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			tc.log()
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			got, _ := m["request_id"].(string)
			if got != tc.want {
				t.Errorf("request_id %q, want %q: %s", got, tc.want, buf.String())
			}
		})
	}
	if Bind(nil, context.Background()) != nil {
		t.Error("Bind(nil) is not nil")
	}
}
