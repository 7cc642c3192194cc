package inbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// maxPushesPerPoll bounds the EHR pushes one Poll makes; the rest wait
// for the next.
const maxPushesPerPoll = 500

// Init creates the file ledger and the EHR push table
// (inbound_ehr_push: job, appointment_id, version, attempts, last_status,
// last_error, queued_at) if missing; safe to call from several instances.
func Init(ctx context.Context, st *store.Store) error {
	if err := ledger.Init(ctx, st); err != nil {
		return err
	}
	_, err := st.DB().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS inbound_ehr_push (
		job            TEXT    NOT NULL,
		appointment_id TEXT    NOT NULL,
		version        INTEGER NOT NULL,
		attempts       INTEGER NOT NULL,
		last_status    INTEGER NOT NULL,
		last_error     TEXT    NOT NULL,
		queued_at      BIGINT  NOT NULL,
		PRIMARY KEY (job, appointment_id)
	)`)
	if err != nil {
		return fmt.Errorf("creating the EHR push table: %w", err)
	}
	return nil
}

// queuePush records, in the transaction that changed it, that Appointment
// id must be pushed to the EHR.
func (p *Poller) queuePush(ctx context.Context, tx *store.Tx, id string, version int) error {
	_, err := tx.SQL().ExecContext(context.WithoutCancel(ctx), tx.Rebind(`INSERT INTO inbound_ehr_push
		(job, appointment_id, version, attempts, last_status, last_error, queued_at) VALUES (?, ?, ?, 0, 0, '', ?)
		ON CONFLICT (job, appointment_id) DO UPDATE SET version = excluded.version`),
		p.spec.Name, id, version, p.now().UnixMicro())
	if err != nil {
		return fmt.Errorf("queueing the EHR push of Appointment %s: %w", id, err)
	}
	return nil
}

// pending is one row of the push table.
type pending struct {
	id       string
	attempts int
}

// pushPending PUTs every queued Appointment of the job to the EHR.
func (p *Poller) pushPending(ctx context.Context) []PushResult {
	if p.opt.EHR == nil {
		return nil
	}
	rows, err := p.st.DB().QueryContext(ctx, p.st.Rebind(`SELECT appointment_id, attempts FROM inbound_ehr_push
		WHERE job = ? ORDER BY queued_at, appointment_id LIMIT ?`), p.spec.Name, maxPushesPerPoll)
	if err != nil {
		return []PushResult{{Err: fmt.Errorf("reading the EHR push table: %w", err)}}
	}
	var todo []pending
	for rows.Next() {
		var q pending
		if err := rows.Scan(&q.id, &q.attempts); err != nil {
			rows.Close()
			return []PushResult{{Err: fmt.Errorf("reading the EHR push table: %w", err)}}
		}
		todo = append(todo, q)
	}
	rows.Close()
	var out []PushResult
	for _, q := range todo {
		if ctx.Err() != nil {
			break
		}
		out = append(out, p.push(ctx, q))
	}
	return out
}

// push sends the current stored version of one Appointment and records
// the result in the push table.
func (p *Poller) push(ctx context.Context, q pending) PushResult {
	res := PushResult{AppointmentID: q.id, Attempts: q.attempts + 1}
	body, version, err := p.st.GetResource(ctx, "Appointment", q.id)
	if err == nil {
		res.Status, err = p.put(ctx, q.id, body)
	}
	res.Err = err
	p.opt.Metrics.push(p.spec.Name, err == nil)
	var dbErr error
	if err == nil {
		dbErr = p.st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SQL().ExecContext(context.WithoutCancel(ctx), tx.Rebind(`DELETE FROM inbound_ehr_push
				WHERE job = ? AND appointment_id = ? AND version <= ?`), p.spec.Name, q.id, version)
			return err
		})
	} else {
		msg := err.Error()
		dbErr = p.st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SQL().ExecContext(context.WithoutCancel(ctx), tx.Rebind(`UPDATE inbound_ehr_push
				SET attempts = attempts + 1, last_status = ?, last_error = ? WHERE job = ? AND appointment_id = ?`),
				res.Status, msg, p.spec.Name, q.id)
			return err
		})
	}
	if dbErr != nil && res.Err == nil {
		res.Err = fmt.Errorf("recording the EHR push of Appointment %s: %w", q.id, dbErr)
	}
	return res
}

// put sends one Appointment with PUT; only a 2xx answer is a success. The
// answer's body is not read into errors: it may quote patient data.
func (p *Poller) put(ctx context.Context, id string, body []byte) (int, error) {
	ehr := p.opt.EHR
	u := strings.TrimRight(ehr.BaseURL, "/") + "/Appointment/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(forEHR(body)))
	if err != nil {
		return 0, fmt.Errorf("pushing Appointment %s to the EHR: building the request: %w", id, err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+ehr.Token.Reveal())
	client := ehr.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("pushing Appointment %s to the EHR: %w", id, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("pushing Appointment %s to the EHR: status %d", id, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// forEHR drops meta.versionId and meta.lastUpdated, which belong to the
// server that stores the resource, from a stored body.
func forEHR(body []byte) []byte {
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil || v.Kind != fhir.Object {
		return body
	}
	meta := v.Get("meta")
	if meta == nil || meta.Kind != fhir.Object {
		return body
	}
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), v.Members...)}
	m := &fhir.Value{Kind: fhir.Object, Members: without(append([]fhir.Member(nil), meta.Members...), "versionId")}
	m.Members = without(m.Members, "lastUpdated")
	if len(m.Members) == 0 {
		out.Members = without(out.Members, "meta")
	} else {
		out.Set("meta", m)
	}
	return out.JSON()
}
