package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// identifierKeyPrefix starts the idempotency key of a Bundle that carries
// a Bundle.identifier (see bundleKey).
const identifierKeyPrefix = "identifier:"

// maxSystemShown caps the Bundle.identifier.system quoted in an outcome or
// a log line: it is the sender's namespace URI, never patient data, but it
// is sender-controlled text.
const maxSystemShown = 200

// bundleBodyHash is the Request.BodyHash of a Bundle whose idempotency key
// is key: the Bundle's canonical hash, without Bundle.timestamp, when the
// key comes from its Bundle.identifier, which a sender may reuse for
// another Bundle; "" when the key is the hash of the body itself, so that
// the same key always means the same body and no hash needs computing.
// Bundle.timestamp is left out because an engine may stamp a resent
// message anew: what must match is what the Bundle asks to store.
func bundleBodyHash(key string, bundle *fhir.Value) string {
	if bundle == nil || !strings.HasPrefix(key, identifierKeyPrefix) {
		return ""
	}
	content := &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 0, len(bundle.Members))}
	for _, m := range bundle.Members {
		if m.Key != "timestamp" {
			content.Members = append(content.Members, m)
		}
	}
	return fhir.CanonicalHash(content)
}

// requestError maps a Commit or Seen error of a request about bundle (nil
// for a single resource) to the response.
func (h *handler) requestError(ctx context.Context, route string, bundle *fhir.Value, err error) *apiError {
	if errors.Is(err, ErrKeyReused) {
		return h.reusedKey(ctx, route, bundle)
	}
	return h.backendError(ctx, route, err)
}

// reusedKey answers a request whose idempotency key was already committed
// for another body: 409 Conflict (the key conflicts with the stored state;
// the request itself may be valid), counted in
// fhirbridge_ingest_identifier_conflicts_total. For a Bundle the outcome
// names the Bundle.identifier's system and the first 12 hex digits of the
// SHA-256 of its value, never the value: a message id may be built from
// record numbers. The sender can hash its own value to find the message;
// the log line carries the system only.
func (h *handler) reusedKey(ctx context.Context, route string, bundle *fhir.Value) *apiError {
	h.m.identifierConflicts.Inc()
	id := bundle.Get("identifier")
	if id == nil {
		h.logger(ctx).WarnContext(ctx, "idempotency key reused for a different body", "route", route)
		return newError(http.StatusConflict, "", "conflict", "",
			"this request's idempotency key was already used for a different request; nothing was stored or delivered")
	}
	system := id.GetString("system")
	if len(system) > maxSystemShown {
		system = system[:maxSystemShown] + "…"
	}
	sum := sha256.Sum256([]byte(id.GetString("value")))
	h.logger(ctx).WarnContext(ctx, "Bundle.identifier reused for a different Bundle", "route", route, "system", system)
	return newError(http.StatusConflict, "", "conflict", "Bundle.identifier", fmt.Sprintf(
		"Bundle.identifier (system %q, value SHA-256 %s…) was already used for a different Bundle; "+
			"nothing was stored or delivered. Resend the original Bundle unchanged to get its response, "+
			"or give each new Bundle its own identifier", system, hex.EncodeToString(sum[:6])))
}
