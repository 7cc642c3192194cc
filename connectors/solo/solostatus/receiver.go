package solostatus

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// Rejected is the body of every refused webhook request, with status 400:
// a wrong token, a payload that does not decrypt, bad padding, bad JSON,
// an unknown event. One answer for all, so none of them can be told apart.
const Rejected = `{"error":"rejected"}` + "\n"

// Accepted is the body of an accepted (or replayed) event, with status 200.
const Accepted = `{"status":"accepted"}` + "\n"

// TokenPathValue is the name of the path wildcard holding the token in the
// receiver's pattern ("POST /solo/webhooks/{token}").
const TokenPathValue = "token"

// Receiver is the webhook endpoint. Mount it at
// "POST /solo/webhooks/{token}". It is safe for concurrent use.
type Receiver struct {
	Syncer *Syncer
	// Token is the secret last path segment; compared in constant time.
	Token connectors.Secret
	// Key is the subscription's encryptionKey.
	Key connectors.Secret
	// Notify, when set, is called after a new event was recorded (to wake
	// the worker that processes events).
	Notify func()
	// Log receives the reason of a refusal and event ids; nil discards.
	Log *slog.Logger
	// RejectAfter is the least time a refusal takes from the request's
	// arrival, so that what little work differs between causes does not
	// show in the answer's timing; 0 means DefaultRejectAfter, negative
	// none.
	RejectAfter time.Duration
}

// DefaultRejectAfter is the least time a refusal takes by default.
const DefaultRejectAfter = 2 * time.Millisecond

// dummyEvent is parsed in place of a payload that did not decrypt, so that
// the parse costs about the same either way.
var dummyEvent = []byte(`{"event":{"type":"appointment:completed","id":"evt-0000000000"},"data":{"appointmentId":5001}}`)

// ServeHTTP checks the token, decrypts and parses the payload, records the
// event and answers 200 Accepted (also for a replay, which records
// nothing), 400 Rejected for anything else it cannot take, or 503 when the
// store cannot record it (Solo may then send it again).
//
// The work is the same whatever is wrong: the token is compared as a
// SHA-256 (so its length does not show), the payload is always decrypted
// and checked in full (solo.DecryptPayload), and the verdicts are combined
// at the end.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, solo.MaxPayload+1024))
	got := sha256.Sum256([]byte(r.PathValue(TokenPathValue)))
	want := sha256.Sum256([]byte(rc.Token.Reveal()))
	tokenOK := subtle.ConstantTimeCompare(got[:], want[:]) & boolInt(rc.Token != "")
	payload := unwrap(body)
	plain, derr := solo.DecryptPayload(rc.Key.Reveal(), payload)
	parse := plain
	if derr != nil {
		parse = dummyEvent
	}
	ev, perr := ParseEvent(parse)
	if tokenOK != 1 || derr != nil || perr != nil {
		rc.log().Warn("solo webhook refused", "token_ok", tokenOK == 1, "decrypted", derr == nil, "event_ok", perr == nil, "bytes", len(body))
		rc.wait(r, start)
		reply(w, http.StatusBadRequest, Rejected)
		return
	}
	fresh, err := rc.Syncer.Record(r.Context(), PayloadHash(payload), ev)
	if err != nil {
		rc.log().Error("solo webhook event not recorded", "event", ev.Type, "error", err)
		reply(w, http.StatusServiceUnavailable, `{"error":"unavailable"}`+"\n")
		return
	}
	rc.log().Info("solo webhook event", "event", ev.Type, "solo_id", ev.ObjectID, "event_id", ev.ID, "replay", !fresh)
	if fresh && rc.Notify != nil {
		rc.Notify()
	}
	reply(w, http.StatusOK, Accepted)
}

// wait holds a refusal until RejectAfter has passed since start.
func (rc *Receiver) wait(r *http.Request, start time.Time) {
	d := rc.RejectAfter
	if d == 0 {
		d = DefaultRejectAfter
	}
	left := time.Until(start.Add(d))
	if left <= 0 {
		return
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func (rc *Receiver) log() *slog.Logger {
	if rc.Log != nil {
		return rc.Log
	}
	return slog.New(slog.DiscardHandler)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// unwrap takes the encrypted text out of a body. The spec does not show
// the request Solo sends; accepted are the text itself (what the
// simulator sends), a JSON string, or a JSON object whose "data" or
// "payload" member is that string. Surrounding white space is ignored.
func unwrap(body []byte) []byte {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || (b[0] != '"' && b[0] != '{') {
		return b
	}
	var s string
	if b[0] == '"' {
		if json.Unmarshal(b, &s) == nil {
			return []byte(s)
		}
		return b
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return b
	}
	for _, k := range []string{"data", "payload"} {
		if json.Unmarshal(obj[k], &s) == nil && s != "" {
			return []byte(s)
		}
	}
	return b
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
