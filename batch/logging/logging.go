// Package logging builds the process's slog logger in one place (text or
// JSON, a minimum level) and carries a request id through a request's
// context so that every line logged with that context names it.
//
// What may be logged is decided by the callers' attributes: ids of our own,
// types, paths and counts. This package adds only the request id, which is
// either ours (generated) or checked to be short and of safe characters.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Formats and levels accepted by New, as written in flags and config.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// ParseFormat checks a log format; "" is text.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", FormatText:
		return FormatText, nil
	case FormatJSON:
		return FormatJSON, nil
	}
	return "", fmt.Errorf("log format %q: want text or json", s)
}

// ParseLevel reads debug, info, warn or error; "" is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// New is the logger of the process: format text or json ("" is text),
// level debug|info|warn|error ("" is info), writing to w. Every line
// carries time, level and msg; lines logged with a context that has a
// request id (WithRequestID) carry request_id too.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	f, err := ParseFormat(format)
	if err != nil {
		return nil, err
	}
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	if f == FormatJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(ContextHandler{h}), nil
}

type ctxKey struct{}

// WithRequestID returns ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ContextHandler adds the request id of the record's context as the
// attribute request_id.
type ContextHandler struct{ slog.Handler }

// Handle adds request_id when the context has one.
func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h ContextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

// HeaderRequestID is the header a request id comes in and goes back in.
const HeaderRequestID = "X-Request-Id"

// MaxRequestID bounds the length of a request id taken from a request.
const MaxRequestID = 128

// CleanRequestID returns s if it is a usable request id: 1 to MaxRequestID
// characters among letters, digits and "-_.:". Anything else is refused
// (a client's header is hostile input and goes into every log line).
func CleanRequestID(s string) (string, bool) {
	if s == "" || len(s) > MaxRequestID {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return "", false
		}
	}
	return s, true
}

// NewRequestID is a random request id of 32 hex characters.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Middleware gives every request a request id — the request's X-Request-Id
// when CleanRequestID accepts it, else a new one — puts it in the
// request's context and in the response's X-Request-Id header.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := CleanRequestID(r.Header.Get(HeaderRequestID))
		if !ok {
			id = NewRequestID()
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// Bind returns l with ctx bound to it: a line logged without a context
// (Info, Warn, … which pass context.Background) is handled as if logged
// with ctx, so it carries ctx's request id and span like the *Context
// calls do. A line logged with its own context keeps that one. Code that
// is handed a logger rather than a context (a delivery worker's Work.Log)
// thus still logs the attempt's ids.
func Bind(l *slog.Logger, ctx context.Context) *slog.Logger {
	if l == nil || ctx == nil {
		return l
	}
	return slog.New(bound{l.Handler(), ctx})
}

type bound struct {
	slog.Handler
	ctx context.Context
}

func (b bound) pick(ctx context.Context) context.Context {
	if ctx == nil || ctx == context.Background() {
		return b.ctx
	}
	return ctx
}

func (b bound) Enabled(ctx context.Context, l slog.Level) bool {
	return b.Handler.Enabled(b.pick(ctx), l)
}

func (b bound) Handle(ctx context.Context, r slog.Record) error {
	return b.Handler.Handle(b.pick(ctx), r)
}

func (b bound) WithAttrs(as []slog.Attr) slog.Handler { return bound{b.Handler.WithAttrs(as), b.ctx} }

func (b bound) WithGroup(name string) slog.Handler { return bound{b.Handler.WithGroup(name), b.ctx} }
