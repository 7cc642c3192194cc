package ehrpush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxAttempts = 10
	DefaultMaxPerRun   = 500
)

// Backoff bounds: the first retry waits FirstBackoff, each later one twice
// the previous, never more than MaxBackoff.
const (
	FirstBackoff = 30 * time.Second
	MaxBackoff   = time.Hour
)

// lease is how long a claimed row is left alone by other runs while it is
// being pushed; longer than the default client's timeout.
const lease = 5 * time.Minute

// Endpoint is the EHR's FHIR endpoint.
type Endpoint struct {
	// BaseURL is the FHIR base, e.g. "https://ehr.example/fhir"; resources
	// are PUT to BaseURL/{type}/{id}. Required.
	BaseURL string
	// Token is sent as "Authorization: Bearer <Token>" (no header when
	// empty).
	Token connectors.Secret
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
}

// Config configures a Pusher.
type Config struct {
	// Queue names the caller's rows (e.g. the inbound job's name, or
	// "solo-status"); a Pusher queues, pushes and lists only these.
	// Required.
	Queue string
	// Endpoint is where resources go.
	Endpoint Endpoint
	// MaxAttempts is the number of failed pushes after which a row is
	// dead; default DefaultMaxAttempts.
	MaxAttempts int
	// MaxPerRun bounds the pushes of one Push call; default
	// DefaultMaxPerRun. The rest wait for the next call.
	MaxPerRun int
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
	// Log receives one line per push (type, id, version, status,
	// attempts); nil discards.
	Log *slog.Logger
	// Observe, when set, is called with every Result of Push (e.g. to
	// count pushes in metrics). It must not block.
	Observe func(Result)
}

// Pusher queues resources in ehr_push and pushes them to the EHR. Make it
// with New; it is safe for concurrent use, and several Pushers (in one
// process or several) may work on the same queue.
type Pusher struct {
	st     *store.Store
	cfg    Config
	base   *url.URL // Endpoint.BaseURL, parsed
	client *http.Client
}

// New returns a Pusher over st after validating cfg and filling its
// defaults. It does not touch the store.
func New(st *store.Store, cfg Config) (*Pusher, error) {
	if cfg.Queue == "" {
		return nil, errors.New("configuring the EHR push: a queue name is required")
	}
	u, err := url.Parse(cfg.Endpoint.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("configuring the EHR push of %s: the EHR needs an absolute http(s) base url", cfg.Queue)
	}
	if cfg.MaxAttempts < 0 || cfg.MaxPerRun < 0 {
		return nil, fmt.Errorf("configuring the EHR push of %s: max attempts and max per run must not be negative", cfg.Queue)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxPerRun == 0 {
		cfg.MaxPerRun = DefaultMaxPerRun
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	client := cfg.Endpoint.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Pusher{st: st, cfg: cfg, base: u, client: client}, nil
}

// Queue records, in tx (the transaction that stored version of typ/id),
// that the resource must be pushed. A row already queued for it takes the
// new version and is due at once with a fresh attempt count, dead or not.
// The row is written even if ctx is cancelled meanwhile: the caller's
// transaction decides.
func (p *Pusher) Queue(ctx context.Context, tx *store.Tx, typ, id string, version int) error {
	now := p.cfg.Now().UnixMicro()
	_, err := tx.SQL().ExecContext(context.WithoutCancel(ctx), tx.Rebind(`INSERT INTO ehr_push
		(queue, type, id, version, attempts, last_status, last_error, dead, queued_at, next_at)
		VALUES (?, ?, ?, ?, 0, 0, '', 0, ?, ?)
		ON CONFLICT (queue, type, id) DO UPDATE SET version = excluded.version, attempts = 0, dead = 0,
			queued_at = excluded.queued_at, next_at = excluded.next_at`),
		p.cfg.Queue, typ, id, version, now, now)
	if err != nil {
		return store.Classify(fmt.Sprintf("queueing the EHR push of %s/%s", typ, id), err) // a FHIR reference, not a URL path
	}
	return nil
}

// Row is one queued resource.
type Row struct {
	Type, ID string
	// Version is the stored version last queued.
	Version int
	// Attempts counts the failed pushes since it was queued.
	Attempts int
	// LastStatus is the HTTP status of the last failure (0 when no answer
	// came); LastError its message (no patient data).
	LastStatus int
	LastError  string
	// Dead is set once the row is no longer retried.
	Dead bool
	// QueuedAt is when it was last queued, NextAt when it is due.
	QueuedAt, NextAt time.Time
}

// Rows lists the queue's rows, pending and dead, by due time.
func (p *Pusher) Rows(ctx context.Context) ([]Row, error) {
	rows, err := p.st.DB().QueryContext(ctx, p.st.Rebind(`SELECT type, id, version, attempts, last_status,
		last_error, dead, queued_at, next_at FROM ehr_push WHERE queue = ? ORDER BY next_at, type, id`), p.cfg.Queue)
	if err != nil {
		return nil, store.Classify("reading the EHR push table", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var dead int
		var queued, next int64
		if err := rows.Scan(&r.Type, &r.ID, &r.Version, &r.Attempts, &r.LastStatus, &r.LastError, &dead, &queued, &next); err != nil {
			return nil, store.Classify("reading the EHR push table", err)
		}
		r.Dead, r.QueuedAt, r.NextAt = dead != 0, time.UnixMicro(queued).UTC(), time.UnixMicro(next).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("reading the EHR push table", err)
	}
	return out, nil
}
