package solo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// WebhookEvents are the event types Solo documents for a webhook
// subscription (POST /qapi/v1/webhooks, "events").
var WebhookEvents = []string{
	"patient:created", "patient:updated", "patient:deactivated",
	"appointment:scheduled", "appointment:rescheduled", "appointment:cancelled",
	"appointment:completed", "appointment:incompleted", "appointment:no-show",
	"appointment:lwbs",
	"episode:created", "episode:updated",
}

// Webhook is one webhook subscription at Solo.
type Webhook struct {
	// ID is Solo's id of the subscription (a UUID).
	ID string
	// Endpoint is the URL Solo POSTs events to. It holds the receiver's
	// secret token: print it through RedactEndpoint.
	Endpoint string
	// Events are the subscribed event types.
	Events []string
	// EncryptionKey decrypts the events' payloads; Solo returns it on
	// create (and on delete). It prints redacted.
	EncryptionKey Secret
}

// ErrUnknownEvent is returned for an event type Solo does not document.
var ErrUnknownEvent = errors.New("unknown solo webhook event")

type webhookBody struct {
	ID            string   `json:"id,omitempty"`
	Endpoint      string   `json:"endpoint"`
	Events        []string `json:"events"`
	EncryptionKey string   `json:"encryptionKey,omitempty"`
}

func (b webhookBody) webhook() Webhook {
	return Webhook{ID: b.ID, Endpoint: b.Endpoint, Events: b.Events, EncryptionKey: Secret(b.EncryptionKey)}
}

func checkWebhookEvents(events []string) error {
	if len(events) == 0 {
		return fmt.Errorf("checking webhook events: none given: %w", ErrUnknownEvent)
	}
	for _, e := range events {
		if !slices.Contains(WebhookEvents, e) {
			return fmt.Errorf("checking webhook events: %q: %w", e, ErrUnknownEvent)
		}
	}
	return nil
}

// AddWebhook subscribes endpoint to events (POST /qapi/v1/webhooks) and
// returns the subscription with its EncryptionKey, which Solo shows only
// here: store it as a secret.
func (c *Connector) AddWebhook(ctx context.Context, endpoint string, events []string) (Webhook, error) {
	if err := checkWebhookEvents(events); err != nil {
		return Webhook{}, err
	}
	return c.webhookCall(ctx, http.MethodPost, connectors.PathOf("/qapi/v1/webhooks"), &webhookBody{Endpoint: endpoint, Events: events}, "adding")
}

// UpdateWebhook changes the endpoint and events of subscription id
// (PUT /qapi/v1/webhooks/{webhookId}).
func (c *Connector) UpdateWebhook(ctx context.Context, id, endpoint string, events []string) (Webhook, error) {
	if err := checkWebhookEvents(events); err != nil {
		return Webhook{}, err
	}
	return c.webhookCall(ctx, http.MethodPut, connectors.PathOf("/qapi/v1/webhooks/{id}", id), &webhookBody{Endpoint: endpoint, Events: events}, "updating")
}

// GetWebhook returns subscription id (GET /qapi/v1/webhooks/{webhookId}).
func (c *Connector) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	return c.webhookCall(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/webhooks/{id}", id), nil, "reading")
}

// DeleteWebhook deactivates subscription id
// (DELETE /qapi/v1/webhooks/{webhookId}).
func (c *Connector) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.webhookCall(ctx, http.MethodDelete, connectors.PathOf("/qapi/v1/webhooks/{id}", id), nil, "deleting")
	return err
}

// ListWebhooks returns the subscriptions (GET /qapi/v1/webhooks).
func (c *Connector) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	_, data, err := c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/webhooks"), nil)
	if err != nil {
		return nil, fmt.Errorf("listing solo webhooks: %w", err)
	}
	var list []webhookBody
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("listing solo webhooks: reading the answer: %w", err)
	}
	out := make([]Webhook, len(list))
	for i, b := range list {
		out[i] = b.webhook()
	}
	return out, nil
}

func (c *Connector) webhookCall(ctx context.Context, method string, path connectors.Path, in *webhookBody, what string) (Webhook, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return Webhook{}, fmt.Errorf("%s solo webhook: %w", what, err)
		}
	}
	_, data, err := c.call(ctx, method, path, body)
	if err != nil {
		return Webhook{}, fmt.Errorf("%s solo webhook: %w", what, err)
	}
	var out webhookBody
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			return Webhook{}, fmt.Errorf("%s solo webhook: reading the answer: %w", what, err)
		}
	}
	return out.webhook(), nil
}

// RedactEndpoint returns endpoint with its last path segment (the
// receiver's secret token) replaced by "…", for printing.
func RedactEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "[unparsable endpoint]"
	}
	dir, _ := whSplitLast(u.EscapedPath())
	if dir == "" {
		dir = "/"
	}
	return u.Scheme + "://" + u.Host + dir + "…" // not a URL path: a redacted URL for printing
}

func whSplitLast(p string) (string, string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1], p[i+1:]
		}
	}
	return "", p
}
