package export

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// SlotDone reports whether job has completed the scheduled slot (a key
// from Slot.Key) — that is, uploaded its file.
func SlotDone(ctx context.Context, st *store.Store, job, slot string) (bool, error) {
	var n int
	err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT 1 FROM export_slots WHERE job = ? AND slot = ?`), job, slot).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, store.Classify(fmt.Sprintf("reading export slots of %s", job), err)
	}
	return true, nil
}

// record writes the ledger entry of an export, and the slot it ran for
// when slot is not "", in one transaction; fence, when not nil, runs
// first in it and its error rolls everything back (a replica that lost
// the slot's claim records nothing).
func record(ctx context.Context, st *store.Store, e ledger.Entry, slot string, fence func(context.Context, *store.Tx) error) (int64, error) {
	var id int64
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if fence != nil {
			if err := fence(ctx, tx); err != nil {
				return err
			}
		}
		var err error
		if id, err = ledger.Record(ctx, tx, e); err != nil {
			return err
		}
		if slot == "" {
			return nil
		}
		_, err = tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO export_slots (job, slot, ledger_id, at)
			VALUES (?, ?, ?, ?) ON CONFLICT (job, slot) DO NOTHING`), e.Job, slot, id, e.At.UnixMicro())
		if err != nil {
			return store.Classify("recording export slot", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recording export %s of job %s: %w", e.Path, e.Job, err)
	}
	return id, nil
}

// detail summarises refusals for the ledger: counts and ids, no values.
func detail(c *content, extra string) string {
	var b strings.Builder
	b.WriteString(extra)
	if c == nil || c.nRefuse == 0 {
		return b.String()
	}
	if b.Len() > 0 {
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "%d refused:", c.nRefuse)
	const shown = 20
	for i, r := range c.refused {
		if i == shown {
			fmt.Fprintf(&b, " (+%d more)", c.nRefuse-shown)
			break
		}
		b.WriteString(" ")
		b.WriteString(r.ID)
	}
	return b.String()
}

// ledgerEntry is the ledger row of an export of file.
func ledgerEntry(job, file string, c *content, outcome, extra string, at time.Time) ledger.Entry {
	e := ledger.Entry{Direction: ledger.Out, Job: job, Path: file, Outcome: outcome, Detail: detail(c, extra), At: at.UTC()}
	if c != nil {
		e.Size, e.SHA256, e.RowsOK, e.RowsFailed = c.size, c.sha256, c.rows, c.nRefuse
	}
	return e
}
