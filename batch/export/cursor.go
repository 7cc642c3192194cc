package export

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// loadCursor returns the time of the last slot job ran; ok is false when
// it never ran.
func loadCursor(ctx context.Context, st *store.Store, job string) (at time.Time, ok bool, err error) {
	var us int64
	err = st.DB().QueryRowContext(ctx, st.Rebind(`SELECT slot_at FROM export_cursors WHERE job = ?`), job).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, store.Classify(fmt.Sprintf("reading the last slot of %s", job), err)
	}
	return time.UnixMicro(us).UTC(), true, nil
}

// saveCursor records that job ran the slot at at (never moving back).
func saveCursor(ctx context.Context, st *store.Store, job string, at time.Time) error {
	_, err := st.DB().ExecContext(ctx, st.Rebind(`INSERT INTO export_cursors (job, slot_at) VALUES (?, ?)
		ON CONFLICT (job) DO UPDATE SET slot_at = excluded.slot_at WHERE excluded.slot_at > export_cursors.slot_at`),
		job, at.UnixMicro())
	if err != nil {
		return store.Classify(fmt.Sprintf("recording the last slot of %s", job), err)
	}
	return nil
}
