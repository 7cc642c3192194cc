package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestClassify(t *testing.T) {
	s := &Store{dialect: postgresDialect}
	cases := []struct {
		name            string
		err             error
		wantUnavailable bool
		wantIs          error
	}{
		{"disk full", &pgconn.PgError{Code: "53100", Message: "could not extend file"}, true, nil},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true, nil},
		{"read-only transaction", &pgconn.PgError{Code: "25006"}, true, nil},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true, nil},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true, nil},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, true, nil},
		{"unique violation is not unavailable", &pgconn.PgError{Code: "23505", Detail: "Key (v)=(" + canary + ")"}, false, nil},
		{"bad conn", driver.ErrBadConn, true, nil},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true, nil},
		{"refused", syscall.ECONNREFUSED, true, nil},
		{"no space", syscall.ENOSPC, true, nil},
		{"cancelled", context.Canceled, false, context.Canceled},
		{"not found", ErrNotFound, false, ErrNotFound},
		{"plain error", errors.New("other"), false, nil},
	}
	for _, c := range cases {
		err := s.classify("doing X", c.err)
		if got := errors.Is(err, ErrUnavailable); got != c.wantUnavailable {
			t.Errorf("%s: Is(ErrUnavailable) = %v, want %v (%v)", c.name, got, c.wantUnavailable, err)
		}
		if c.wantIs != nil && !errors.Is(err, c.wantIs) {
			t.Errorf("%s: %v does not wrap %v", c.name, err, c.wantIs)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%s: the driver error is not reachable with errors.Is/As", c.name)
		}
		if !strings.HasPrefix(err.Error(), "doing X: ") {
			t.Errorf("%s: %q lacks the action phrase", c.name, err)
		}
		noCanary(t, err)
	}
	if s.classify("x", nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
