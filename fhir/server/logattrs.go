package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// bundleTag is what the log lines about a posted Bundle show of it: the
// first 12 hex digits of the SHA-256 of its identifier's system + "|" +
// value, or "" when it has no identifier value. The sender can compute it
// from its own message id to find the lines; the value never appears (a
// message id may be built from record numbers).
func bundleTag(bundle *fhir.Value) string {
	id := bundle.Get("identifier")
	if id == nil {
		return ""
	}
	val := id.GetString("value")
	if val == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id.GetString("system") + "|" + val))
	return hex.EncodeToString(sum[:6])
}

// bundleCtxKey keys the bundleTag of the request's Bundle in its context.
type bundleCtxKey struct{}

// withBundle returns ctx naming the Bundle tagged tag ("" leaves ctx).
func withBundle(ctx context.Context, tag string) context.Context {
	if tag == "" {
		return ctx
	}
	return context.WithValue(ctx, bundleCtxKey{}, tag)
}

// logger is the handler's logger for a line about the request of ctx:
// with a bundle attribute when the request posted a Bundle with an
// identifier. Its lines are to be logged with ctx (the *Context methods)
// so that the logger's handler can add the request id and trace.
func (h *handler) logger(ctx context.Context) *slog.Logger {
	if tag, _ := ctx.Value(bundleCtxKey{}).(string); tag != "" {
		return h.log.With("bundle", tag)
	}
	return h.log
}
