package solo

// Reports (spec "Reports"): the CSV data dump and the password-locked
// encounter report.
//
//	CSVDataDump           GET  /qapi/v1/reports/csv-data-dump?from=YYYY-MM-DD&to=YYYY-MM-DD
//	CreateEncounterReport POST /qapi/v1/encounter-report/create {from, to, presetId, password}
//	EncounterReportStatus GET  /qapi/v1/encounter-report/status/{reportId}
//	DownloadEncounterReport GET /qapi/v1/encounter-report/download/{reportId}
//	WaitEncounterReport   polls the status with backoff until completed
//
// Downloads stream into a writer: a report may be gigabytes, so they are
// not bounded by maxResponse nor by the connector's per-call Timeout
// (which bounds the wait for the answer's headers instead); the context
// bounds the whole transfer. A body shorter than its Content-Length fails.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Report statuses, as the spec lists them ("pending, completed, failed").
const (
	ReportPending   = "pending"
	ReportCompleted = "completed"
	ReportFailed    = "failed"
)

// ErrReportFailed is returned by WaitEncounterReport when Solo says the
// report failed.
var ErrReportFailed = errors.New("solo: the encounter report failed")

// ErrReportTimeout is returned by WaitEncounterReport when the report is
// still pending at the deadline.
var ErrReportTimeout = errors.New("solo: the encounter report was not ready in time")

// CSVDataDump downloads the CSV data dump of the days from..to (dates;
// only the day is sent) into w and returns the bytes written.
func (c *Connector) CSVDataDump(ctx context.Context, from, to time.Time, w io.Writer) (int64, error) {
	q := url.Values{"from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	return c.download(ctx, connectors.PathOf("/qapi/v1/reports/csv-data-dump"), q.Encode(), w)
}

// EncounterReportRequest orders an encounter report.
type EncounterReportRequest struct {
	From, To time.Time
	// PresetID names the report preset configured in the Solo web app.
	PresetID string
	// Password locks the zipped CSV. It never appears in errors.
	Password string
}

// CreateEncounterReport orders the report and returns its id and status.
func (c *Connector) CreateEncounterReport(ctx context.Context, req EncounterReportRequest) (id, status string, err error) {
	body, err := json.Marshal(map[string]string{
		"from":     req.From.Format(time.RFC3339),
		"to":       req.To.Format(time.RFC3339),
		"presetId": req.PresetID,
		"password": req.Password,
	})
	if err != nil {
		return "", "", connectors.Permanently(fmt.Errorf("encoding the report order: %w", err))
	}
	_, data, err := c.call(ctx, http.MethodPost, connectors.PathOf("/qapi/v1/encounter-report/create"), body)
	if err != nil {
		return "", "", fmt.Errorf("ordering the encounter report: %w", err)
	}
	return reportAnswer(data)
}

// EncounterReportStatus returns the report's status.
func (c *Connector) EncounterReportStatus(ctx context.Context, id string) (string, error) {
	_, data, err := c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/encounter-report/status/{id}", id), nil)
	if err != nil {
		return "", fmt.Errorf("checking the encounter report: %w", err)
	}
	_, status, err := reportAnswer(data)
	return status, err
}

func reportAnswer(data []byte) (id, status string, err error) {
	var doc struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.ID == "" || doc.Status == "" {
		return "", "", connectors.Permanently(errors.New("solo: the report answer has no id or status"))
	}
	return doc.ID, doc.Status, nil
}

// Backoff paces WaitEncounterReport: the first wait is Initial, each next
// one Factor times longer, at most Max; the whole wait ends at Timeout.
type Backoff struct {
	Initial, Max, Timeout time.Duration
	Factor                float64
	// Sleep waits d or until ctx ends (default: a timer); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultBackoff polls after 2s, 4s, 8s … up to 1 minute apart, for at
// most 30 minutes.
var DefaultBackoff = Backoff{Initial: 2 * time.Second, Max: time.Minute, Timeout: 30 * time.Minute, Factor: 2}

// WaitEncounterReport polls the status until it is completed (nil),
// failed (ErrReportFailed) or b.Timeout passes (ErrReportTimeout).
// Transient errors of a poll are retried within the timeout; onPoll, when
// set, is told each status.
func (c *Connector) WaitEncounterReport(ctx context.Context, id string, b Backoff, onPoll func(status string)) error {
	if b.Sleep == nil {
		b.Sleep = sleep
	}
	if b.Now == nil {
		b.Now = time.Now
	}
	if b.Factor < 1 {
		b.Factor = 1
	}
	deadline := b.Now().Add(b.Timeout)
	wait := b.Initial
	for {
		status, err := c.EncounterReportStatus(ctx, id)
		if err != nil {
			if class, _ := connectors.Classify(err); class != connectors.Transient {
				return err
			}
		}
		if onPoll != nil && err == nil {
			onPoll(status)
		}
		switch status {
		case ReportCompleted, "ready":
			return nil
		case ReportFailed:
			return ErrReportFailed
		}
		if !b.Now().Add(wait).Before(deadline) {
			return fmt.Errorf("%w (waited %v)", ErrReportTimeout, b.Timeout)
		}
		if err := b.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(time.Duration(float64(wait)*b.Factor), max(b.Max, b.Initial))
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DownloadEncounterReport downloads the zipped report into w and returns
// the bytes written.
func (c *Connector) DownloadEncounterReport(ctx context.Context, id string, w io.Writer) (int64, error) {
	return c.download(ctx, connectors.PathOf("/qapi/v1/encounter-report/download/{id}", id), "", w)
}

// download streams a GET answer into w. The connector's Timeout bounds
// the wait for the headers only.
func (c *Connector) download(ctx context.Context, path connectors.Path, query string, w io.Writer) (int64, error) {
	u, err := path.URL(c.base)
	if err != nil {
		return 0, connectors.Permanently(fmt.Errorf("building GET %s: %w", path, err))
	}
	u.RawQuery = query
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, path), http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, connectors.Permanently(fmt.Errorf("building GET %s: %w", path, err))
	}
	req.Header.Set("Api-Key", c.key.Reveal())
	client := &http.Client{Transport: c.client.Transport, CheckRedirect: c.client.CheckRedirect}
	headers := time.AfterFunc(c.client.Timeout, cancel)
	resp, err := client.Do(req)
	headers.Stop()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, connectors.Transiently(fmt.Errorf("sending GET %s: %w", path, err), 0)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return 0, classify(http.MethodGet, path.String(), resp, data)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, connectors.Transiently(fmt.Errorf("downloading GET %s: %w", path, err), 0)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, connectors.Transiently(fmt.Errorf("downloading GET %s: %d bytes of %d", path, n, resp.ContentLength), 0)
	}
	return n, nil
}
