package solosim

// Webhook subscriptions and event delivery (spec: Webhooks).
//
// Choices where the spec is silent:
//   - POST answers the subscription with its encryptionKey (as the spec
//     shows); GET /qapi/v1/webhooks/{id} shows it too, the list and PUT do
//     not; DELETE deactivates: the subscription leaves the list, and GET,
//     PUT and DELETE of it answer 404; DELETE answers 200 {};
//   - endpoint must be an absolute http(s) URL and events a non-empty list
//     of the documented event types (400 "Bad parameters" otherwise); an
//     unknown id answers 404;
//   - ids are 00000000-0000-4000-9000-00000000000N in creation order, keys
//     16 random bytes in Base64 (like the spec's "39VNjjSpgoUWMbUhVCjAoQ==");
//   - an event is POSTed at once (synchronously, so tests see it delivered
//     when the call that caused it returns) to every active subscription of
//     its type; the body is the encrypted payload itself, as text/plain,
//     encrypted exactly as the spec's PHP decrypts it: Base64(8-byte salt) +
//     Base64(16-byte IV) + Base64(AES-256-CBC(PKCS#7) ciphertext), key =
//     SHA-256(encryptionKey string + raw salt); no retry;
//   - the payload is {"event":{"type":T,"id":ID},"data":{...}}: the spec's
//     schema plus an event id (evt-N), which Solo does not document.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// webhookEvents are the documented event types.
var webhookEvents = []string{
	"patient:created", "patient:updated", "patient:deactivated",
	"appointment:scheduled", "appointment:rescheduled", "appointment:cancelled",
	"appointment:completed", "appointment:incompleted", "appointment:no-show",
	"appointment:lwbs", "episode:created", "episode:updated",
}

// Webhook is a stored subscription.
type Webhook struct {
	ID, Endpoint, EncryptionKey string
	Events                      []string
	Active                      bool
}

// Delivery is one event POSTed to a subscription.
type Delivery struct {
	WebhookID, Event, EventID string
	// Payload is the encrypted body sent (no patient value in clear).
	Payload string
	// Status is the receiver's answer, 0 when the POST failed.
	Status int
}

type webhookState struct {
	list       []*Webhook
	videoCalls map[int]string // SAID → videoCall status
	deliveries []Delivery
	nextEvent  int
}

func init() {
	registerArea(func(s *Sim) {
		m := s.mux
		m.HandleFunc("POST /qapi/v1/webhooks", s.addWebhook)
		m.HandleFunc("GET /qapi/v1/webhooks", s.listWebhooks)
		m.HandleFunc("GET /qapi/v1/webhooks/{wid}", s.withWebhook(s.getWebhook))
		m.HandleFunc("PUT /qapi/v1/webhooks/{wid}", s.withWebhook(s.updateWebhook))
		m.HandleFunc("DELETE /qapi/v1/webhooks/{wid}", s.withWebhook(s.deleteWebhook))
	})
}

func (s *Sim) webhooks() *webhookState {
	return s.area("webhooks", func() any { return &webhookState{videoCalls: map[int]string{}} }).(*webhookState)
}

// Webhooks returns copies of the subscriptions, deactivated ones included.
func (s *Sim) Webhooks() []Webhook {
	st := s.webhooks()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(st.list))
	for i, w := range st.list {
		out[i] = *w
		out[i].Events = slices.Clone(w.Events)
	}
	return out
}

// Deliveries returns the events delivered so far, oldest first.
func (s *Sim) Deliveries() []Delivery {
	st := s.webhooks()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(st.deliveries)
}

func webhookJSON(w *Webhook, withKey bool) map[string]any {
	out := map[string]any{"id": w.ID, "endpoint": w.Endpoint, "events": w.Events}
	if withKey {
		out["encryptionKey"] = w.EncryptionKey
	}
	return out
}

// readWebhook checks a POST or PUT body.
func readWebhook(w http.ResponseWriter, r *http.Request) (string, []string, bool) {
	doc, ok := decode(w, r)
	if !ok {
		return "", nil, false
	}
	ep, _ := doc["endpoint"].(string)
	if u, err := url.Parse(ep); ep == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		badParams(w, "endpoint", "This value is not a valid URL.")
		return "", nil, false
	}
	list, _ := doc["events"].([]any)
	if len(list) == 0 {
		badParams(w, "events", "This value should not be blank.")
		return "", nil, false
	}
	var events []string
	for _, e := range list {
		name, _ := e.(string)
		if !slices.Contains(webhookEvents, name) {
			badParams(w, "events", "One or more of the given values is invalid.")
			return "", nil, false
		}
		events = append(events, name)
	}
	return ep, events, true
}

func (s *Sim) addWebhook(w http.ResponseWriter, r *http.Request) {
	ep, events, ok := readWebhook(w, r)
	if !ok {
		return
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	st := s.webhooks()
	s.mu.Lock()
	defer s.mu.Unlock()
	wh := &Webhook{
		ID:       fmt.Sprintf("00000000-0000-4000-9000-%012d", len(st.list)+1),
		Endpoint: ep, Events: events, Active: true,
		EncryptionKey: base64.StdEncoding.EncodeToString(key),
	}
	st.list = append(st.list, wh)
	writeJSON(w, http.StatusOK, webhookJSON(wh, true))
}

func (s *Sim) listWebhooks(w http.ResponseWriter, _ *http.Request) {
	st := s.webhooks()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, wh := range st.list {
		if wh.Active {
			out = append(out, webhookJSON(wh, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) getWebhook(w http.ResponseWriter, _ *http.Request, wh *Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, webhookJSON(wh, true))
}

func (s *Sim) updateWebhook(w http.ResponseWriter, r *http.Request, wh *Webhook) {
	ep, events, ok := readWebhook(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wh.Endpoint, wh.Events = ep, events
	writeJSON(w, http.StatusOK, webhookJSON(wh, false))
}

func (s *Sim) deleteWebhook(w http.ResponseWriter, _ *http.Request, wh *Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh.Active = false
	writeJSON(w, http.StatusOK, map[string]any{})
}

// withWebhook resolves {wid} to an active subscription, else 404.
func (s *Sim) withWebhook(h func(http.ResponseWriter, *http.Request, *Webhook)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := s.webhooks()
		s.mu.Lock()
		var found *Webhook
		for _, wh := range st.list {
			if wh.ID == r.PathValue("wid") && wh.Active {
				found = wh
			}
		}
		s.mu.Unlock()
		if found == nil {
			writeError(w, http.StatusNotFound, "Webhook not found")
			return
		}
		h(w, r, found)
	}
}

// SetAppointmentStatus changes the status (one of the spec's appointment
// statuses; "" keeps it) and the videoCall status ("" keeps it) of the
// appointment with SAID said, as Solo's staff and the call would, and
// delivers the matching event: appointment:completed (completed, sign
// off), appointment:cancelled, appointment:no-show (not showed up),
// appointment:scheduled, appointment:lwbs (videoCall LWBS) or
// appointment:incompleted (videoCall incomplete); other changes send
// none. It returns the deliveries made.
func (s *Sim) SetAppointmentStatus(said int, status, videoStatus string) ([]Delivery, error) {
	st := s.webhooks()
	s.mu.Lock()
	var a *Appointment
	for _, x := range s.appts {
		if x.SAID == said {
			a = x
		}
	}
	if a == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("solosim: no appointment %d", said)
	}
	if status != "" {
		a.Status = status
	}
	if videoStatus != "" {
		st.videoCalls[said] = videoStatus
	}
	s.mu.Unlock()
	event := map[string]string{
		"completed": "appointment:completed", "sign off": "appointment:completed",
		"cancelled": "appointment:cancelled", "not showed up": "appointment:no-show",
		"scheduled": "appointment:scheduled",
	}[status]
	switch videoStatus {
	case "LWBS":
		event = "appointment:lwbs"
	case "incomplete":
		event = "appointment:incompleted"
	}
	if event == "" {
		return nil, nil
	}
	return s.DeliverEvent(event, map[string]any{"appointmentId": said}), nil
}

// VideoCallStatus returns the videoCall status set for SAID said ("" when
// none).
func (s *Sim) VideoCallStatus(said int) string {
	st := s.webhooks()
	s.mu.Lock()
	defer s.mu.Unlock()
	return st.videoCalls[said]
}

// videoCallOf is the "videoCall" member of an appointment answer: null
// until a status was set. s.mu is held (it reads the area directly).
func (s *Sim) videoCallOf(said int) any {
	st, _ := s.areas["webhooks"].(*webhookState)
	if st == nil || st.videoCalls[said] == "" {
		return nil
	}
	return map[string]any{"id": fmt.Sprintf("00000000-0000-4000-a000-%012d", said), "status": st.videoCalls[said]}
}

// DeliverEvent POSTs event (a documented type) with data to every active
// subscription of that type and returns the deliveries.
func (s *Sim) DeliverEvent(event string, data map[string]any) []Delivery {
	st := s.webhooks()
	s.mu.Lock()
	st.nextEvent++
	id := fmt.Sprintf("evt-%d", st.nextEvent)
	var targets []Webhook
	for _, wh := range st.list {
		if wh.Active && slices.Contains(wh.Events, event) {
			targets = append(targets, *wh)
		}
	}
	s.mu.Unlock()
	plain, _ := json.Marshal(map[string]any{"event": map[string]string{"type": event, "id": id}, "data": data})
	client := &http.Client{Timeout: 10 * time.Second}
	var out []Delivery
	for _, wh := range targets {
		d := Delivery{WebhookID: wh.ID, Event: event, EventID: id, Payload: encryptWebhook(wh.EncryptionKey, plain)}
		if resp, err := client.Post(wh.Endpoint, "text/plain", bytes.NewReader([]byte(d.Payload))); err == nil {
			d.Status = resp.StatusCode
			resp.Body.Close()
		}
		out = append(out, d)
	}
	s.mu.Lock()
	st.deliveries = append(st.deliveries, out...)
	s.mu.Unlock()
	return out
}

// encryptWebhook encrypts plain as the spec's decryption expects; written
// here from the spec, apart from the connector's, so each checks the other.
func encryptWebhook(key string, plain []byte) string {
	salt, iv := make([]byte, 8), make([]byte, 16)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(iv)
	k := sha256.Sum256(append([]byte(key), salt...))
	block, _ := aes.NewCipher(k[:])
	n := 16 - len(plain)%16
	buf := append(slices.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	b := base64.StdEncoding
	return b.EncodeToString(salt) + b.EncodeToString(iv) + b.EncodeToString(buf)
}
