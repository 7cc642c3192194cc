package ehrpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Result is the outcome of one push.
type Result struct {
	Type, ID string
	// Version is the stored version sent (0 when none could be read).
	Version int
	// Status is the EHR's HTTP status, 0 when no answer came.
	Status int
	// Attempts counts the tries since the resource was queued, this one
	// included.
	Attempts int
	// Dead is set when the row will not be retried until it is queued
	// again.
	Dead bool
	// Err is nil on success (2xx). Otherwise it is classified
	// (connectors.Classify) and names the type, id and status only.
	Err error
}

// due is a row Push is about to send.
type due struct {
	typ, id           string
	version, attempts int
	queued, next      int64
}

// Push sends the queue's due rows (see the package documentation) and
// returns one Result per push made, in order. The error is a failure to
// read the table; the Results then are those made before it. Push stops
// early, without counting an attempt, when ctx ends.
func (p *Pusher) Push(ctx context.Context) ([]Result, error) {
	todo, err := p.due(ctx)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, d := range todo {
		if ctx.Err() != nil {
			break
		}
		res, ok, err := p.push(ctx, d)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		p.report(res)
		out = append(out, res)
	}
	return out, nil
}

// due reads up to MaxPerRun due rows of the queue.
func (p *Pusher) due(ctx context.Context) ([]due, error) {
	rows, err := p.st.DB().QueryContext(ctx, p.st.Rebind(`SELECT type, id, version, attempts, queued_at, next_at
		FROM ehr_push WHERE queue = ? AND dead = 0 AND next_at <= ? ORDER BY next_at, type, id LIMIT ?`),
		p.cfg.Queue, p.cfg.Now().UnixMicro(), p.cfg.MaxPerRun)
	if err != nil {
		return nil, store.Classify("reading the EHR push table", err)
	}
	defer rows.Close()
	var out []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.typ, &d.id, &d.version, &d.attempts, &d.queued, &d.next); err != nil {
			return nil, store.Classify("reading the EHR push table", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("reading the EHR push table", err)
	}
	return out, nil
}

// push claims one row, sends the resource and records the outcome. ok is
// false when another run claimed the row first or ctx ended; err is a
// failure to use the table.
func (p *Pusher) push(ctx context.Context, d due) (res Result, ok bool, err error) {
	claimed, err := p.exec(ctx, `UPDATE ehr_push SET next_at = ?
		WHERE queue = ? AND type = ? AND id = ? AND dead = 0 AND next_at = ?`,
		p.cfg.Now().Add(lease).UnixMicro(), p.cfg.Queue, d.typ, d.id, d.next)
	if err != nil || claimed == 0 {
		return res, false, err
	}
	res = Result{Type: d.typ, ID: d.id, Attempts: d.attempts + 1}
	var retryAfter time.Duration
	body, version, err := p.st.GetResource(ctx, d.typ, d.id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		res.Err = connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: not stored", d.typ, d.id))
	case err != nil:
		res.Err = connectors.Transiently(fmt.Errorf("pushing %s/%s to the EHR: reading it: %w", d.typ, d.id, err), 0)
	default:
		res.Version = version
		res.Status, retryAfter, res.Err = p.put(ctx, d.typ, d.id, body)
	}
	if res.Err != nil && ctx.Err() != nil {
		// shutting down: not the EHR's fault, give the row back untouched
		_, err := p.exec(context.WithoutCancel(ctx), `UPDATE ehr_push SET next_at = ?
			WHERE queue = ? AND type = ? AND id = ? AND queued_at = ?`, d.next, p.cfg.Queue, d.typ, d.id, d.queued)
		return res, false, err
	}
	rec := context.WithoutCancel(ctx) // the PUT happened: record it
	if res.Err == nil {
		// a newer version queued meanwhile keeps the row (due again)
		_, err = p.exec(rec, `DELETE FROM ehr_push WHERE queue = ? AND type = ? AND id = ? AND version <= ?`,
			p.cfg.Queue, d.typ, d.id, version)
		return res, true, err
	}
	class, _ := connectors.Classify(res.Err)
	dead := class == connectors.Permanent || res.Attempts >= p.cfg.MaxAttempts
	next := p.cfg.Now().Add(max(Backoff(res.Attempts), min(retryAfter, MaxBackoff)))
	// unless queued again meanwhile, which starts afresh
	n, err := p.exec(rec, `UPDATE ehr_push SET attempts = ?, last_status = ?, last_error = ?, dead = ?, next_at = ?
		WHERE queue = ? AND type = ? AND id = ? AND queued_at = ?`,
		res.Attempts, res.Status, res.Err.Error(), boolInt(dead), next.UnixMicro(), p.cfg.Queue, d.typ, d.id, d.queued)
	res.Dead = dead && n > 0
	return res, true, err
}

// exec runs one statement in its own transaction and returns the rows it
// affected.
func (p *Pusher) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.SQL().ExecContext(ctx, tx.Rebind(query), args...)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, store.Classify("recording an EHR push", err)
	}
	return n, nil
}

// report logs res and hands it to Observe.
func (p *Pusher) report(res Result) {
	if res.Err == nil {
		p.cfg.Log.Info("pushed to the EHR", "queue", p.cfg.Queue, "type", res.Type, "id", res.ID,
			"version", res.Version, "status", res.Status)
	} else {
		p.cfg.Log.Warn("EHR push failed", "queue", p.cfg.Queue, "type", res.Type, "id", res.ID,
			"status", res.Status, "attempts", res.Attempts, "dead", res.Dead, "error", res.Err)
	}
	if p.cfg.Observe != nil {
		p.cfg.Observe(res)
	}
}

// put sends one resource with PUT and classifies the outcome: only a 2xx
// is a success; a 4xx other than 408 and 429 is permanent. An error
// answer's body (often an OperationOutcome quoting the resource) is kept
// only as connectors.VendorReason summarises it, without values.
func (p *Pusher) put(ctx context.Context, typ, id string, body []byte) (status int, retryAfter time.Duration, err error) {
	u, err := connectors.PathOf("/{type}/{id}", typ, id).URL(p.base)
	if err != nil {
		return 0, 0, connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: %w", typ, id, err))
	}
	sent := forEHR(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(sent))
	if err != nil {
		return 0, 0, connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: building the request: %w", typ, id, err))
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if tok := p.cfg.Endpoint.Token.Reveal(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL; keep the cause
		}
		return 0, 0, connectors.Transiently(fmt.Errorf("pushing %s/%s to the EHR: %w", typ, id, err), 0)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	status = resp.StatusCode
	said := ""
	if status/100 != 2 {
		if said = connectors.VendorReason(answer, sent); said != "" {
			said = ": the EHR said: " + said
		}
	}
	switch {
	case status/100 == 2:
		return status, 0, nil
	case permanent(status):
		return status, 0, connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: status %d%s", typ, id, status, said))
	default:
		ra := connectors.RetryAfter(resp.Header.Get("Retry-After"), p.cfg.Now(), 0)
		return status, ra, connectors.Transiently(fmt.Errorf("pushing %s/%s to the EHR: status %d%s", typ, id, status, said), ra)
	}
}

// permanent reports a 4xx answer other than 408 (Request Timeout) and 429
// (Too Many Requests): sending the same request again cannot help.
func permanent(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// Backoff is the wait after the given number of failed attempts:
// FirstBackoff doubling per attempt, at most MaxBackoff. Other retry
// tables of the bridge (Solo webhook events) use it too.
func Backoff(attempts int) time.Duration {
	d := FirstBackoff
	for i := 1; i < attempts && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// forEHR drops meta.versionId and meta.lastUpdated, which belong to the
// server that stores the resource, from a stored body (and meta when
// nothing else is left in it).
func forEHR(body []byte) []byte {
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil || v.Kind != fhir.Object {
		return body
	}
	meta := v.Get("meta")
	if meta == nil || meta.Kind != fhir.Object {
		return body
	}
	m := fhir.NewObject()
	for _, x := range meta.Members {
		if x.Key != "versionId" && x.Key != "lastUpdated" {
			m.Members = append(m.Members, x)
		}
	}
	out := fhir.NewObject()
	for _, x := range v.Members {
		switch {
		case x.Key != "meta":
			out.Members = append(out.Members, x)
		case len(m.Members) > 0:
			out.Members = append(out.Members, fhir.Member{Key: "meta", Value: m})
		}
	}
	return out.JSON()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
