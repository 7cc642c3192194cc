package solostatus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// maxPushes bounds the pushes one PushDue makes.
const maxPushes = 200

// queuePush records, in the transaction that changed it, that typ/id must
// be PUT to the EHR; a row already queued is made due again.
func (s *Syncer) queuePush(ctx context.Context, tx *store.Tx, typ, id string) error {
	now := s.now().UnixMicro()
	_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO solo_status_push
		(type, id, attempts, last_status, last_error, dead, queued_at, next_at) VALUES (?, ?, 0, 0, '', 0, ?, ?)
		ON CONFLICT (type, id) DO UPDATE SET attempts = 0, dead = 0, next_at = excluded.next_at`),
		typ, id, now, now)
	if err != nil {
		return fmt.Errorf("queueing the EHR push of %s/%s: %w", typ, id, err)
	}
	return nil
}

// PushResult is the outcome of one push.
type PushResult struct {
	Type, ID string
	Status   int
	Err      error
}

// PushDue PUTs every queued resource that is due to the EHR, newest stored
// version each time. A 2xx removes the row; a failure is retried later
// with exponential backoff (30 s doubling, at most 1 h), and after
// MaxAttempts failures (or at once on a 4xx other than 408 and 429) the
// row is marked dead and stays for an operator. Nothing is done when no
// EHR is configured.
func (s *Syncer) PushDue(ctx context.Context) []PushResult {
	if s.EHR == nil {
		return nil
	}
	rows, err := s.Store.DB().QueryContext(ctx, s.Store.Rebind(`SELECT type, id, attempts FROM solo_status_push
		WHERE dead = 0 AND next_at <= ? ORDER BY next_at, type, id LIMIT ?`), s.now().UnixMicro(), maxPushes)
	if err != nil {
		return []PushResult{{Err: fmt.Errorf("reading the EHR push table: %w", err)}}
	}
	type due struct {
		typ, id  string
		attempts int
	}
	var todo []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.typ, &d.id, &d.attempts); err != nil {
			rows.Close()
			return []PushResult{{Err: fmt.Errorf("reading the EHR push table: %w", err)}}
		}
		todo = append(todo, d)
	}
	rows.Close()
	var out []PushResult
	for _, d := range todo {
		if ctx.Err() != nil {
			break
		}
		out = append(out, s.push(ctx, d.typ, d.id, d.attempts))
	}
	return out
}

func (s *Syncer) push(ctx context.Context, typ, id string, attempts int) PushResult {
	res := PushResult{Type: typ, ID: id}
	body, version, err := s.Store.GetResource(ctx, typ, id)
	if err == nil {
		res.Status, err = s.put(ctx, typ, id, body)
	}
	res.Err = err
	var dbErr error
	if err == nil {
		dbErr = s.Store.InTx(ctx, func(tx *store.Tx) error {
			// a newer version queued meanwhile made the row due again: keep it then
			_, cur, err := tx.GetResource(ctx, typ, id)
			if err != nil || cur != version {
				return err
			}
			_, err = tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM solo_status_push WHERE type = ? AND id = ?`), typ, id)
			return err
		})
		s.log().Info("pushed to the EHR", "type", typ, "id", id, "version", version, "status", res.Status)
	} else {
		attempts++
		dead := 0
		if attempts >= s.maxAttempts() || permanentHTTP(res.Status) {
			dead = 1
		}
		next := s.now().Add(backoff(attempts)).UnixMicro()
		dbErr = s.Store.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE solo_status_push
				SET attempts = ?, last_status = ?, last_error = ?, dead = ?, next_at = ? WHERE type = ? AND id = ?`),
				attempts, res.Status, err.Error(), dead, next, typ, id)
			return err
		})
		s.log().Warn("EHR push failed", "type", typ, "id", id, "status", res.Status, "attempts", attempts, "dead", dead == 1)
	}
	if dbErr != nil && res.Err == nil {
		res.Err = fmt.Errorf("recording the EHR push of %s/%s: %w", typ, id, dbErr)
	}
	return res
}

func (s *Syncer) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 10
}

// backoff is 30 s doubling per attempt, at most an hour.
func backoff(attempts int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func permanentHTTP(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// put sends one resource with PUT; only a 2xx is a success. The answer's
// body is not read into errors: it may quote patient data.
func (s *Syncer) put(ctx context.Context, typ, id string, body []byte) (int, error) {
	u := strings.TrimRight(s.EHR.BaseURL, "/") + "/" + typ + "/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(forEHR(body)))
	if err != nil {
		return 0, fmt.Errorf("pushing %s/%s to the EHR: building the request: %w", typ, id, err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+s.EHR.Token.Reveal())
	client := s.EHR.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if asURLError(err, &ue) {
			err = ue.Err // its message repeats the URL; keep the cause
		}
		return 0, fmt.Errorf("pushing %s/%s to the EHR: %w", typ, id, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("pushing %s/%s to the EHR: status %d", typ, id, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// forEHR drops meta.versionId and meta.lastUpdated, which belong to the
// server that stores the resource.
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

func asURLError(err error, target **url.Error) bool { return errors.As(err, target) }
