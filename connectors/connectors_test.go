package connectors

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	base := errors.New("HTTP 503")
	refused := errors.New("HTTP 422")
	unauthorised := errors.New("HTTP 401")
	cases := []struct {
		name  string
		err   error
		class Class
		wait  time.Duration
	}{
		{"unclassified errors are retried", base, Transient, 0},
		{"transient with Retry-After", Transiently(base, 2*time.Minute), Transient, 2 * time.Minute},
		{"permanent", Permanently(refused), Permanent, 0},
		{"reconnect", NeedsReconnect(unauthorised), Reconnect, 0},
		{"classified then wrapped", fmt.Errorf("delivering appointment: %w", Permanently(base)), Permanent, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			class, wait := Classify(c.err)
			if class != c.class || wait != c.wait {
				t.Errorf("Classify = %v, %v; want %v, %v", class, wait, c.class, c.wait)
			}
			if !errors.Is(c.err, base) && !errors.Is(c.err, refused) && !errors.Is(c.err, unauthorised) {
				t.Errorf("the cause is not reachable with errors.Is")
			}
		})
	}
	if got := Transiently(base, time.Second).Error(); got != "transient failure (retry after 1s): HTTP 503" {
		t.Errorf("message %q", got)
	}
}

func TestRegistry(t *testing.T) {
	Register(Factory{Name: "test-echo", Summary: "echo", New: func(c any) (any, error) { return c, nil }})
	f, err := Lookup("test-echo")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.New(42); v != 42 {
		t.Errorf("constructor not called through")
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("an unknown connector must be an error")
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate registration must panic")
		}
	}()
	Register(Factory{Name: "test-echo", New: func(any) (any, error) { return nil, nil }})
}

// TestTyped: a connector's own config, or a pointer to it, builds; nil
// and other types are refused naming what the connector wants.
func TestTyped(t *testing.T) {
	type cfg struct{ N int }
	build := Typed("demo", func(c cfg) (int, error) { return c.N, nil })
	for _, tc := range []struct {
		in   any
		want any
		err  string
	}{
		{cfg{3}, 3, ""},
		{&cfg{4}, 4, ""},
		{(*cfg)(nil), nil, "building demo connector: nil config"},
		{"x", nil, "want connectors.cfg"},
	} {
		got, err := build(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%#v: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%#v: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
}
