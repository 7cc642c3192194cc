package export

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Streak is a job's current run of consecutive failures. It is kept in the
// store (table export_streaks) so that a restart in the middle of a streak
// sends no second notice: the operator gets one notice per job per streak,
// and a successful export ends it. Several Runners of one job on one store
// (replicas) share it: each change is one atomic statement on the row.
type Streak struct {
	// Failures counts the failed runs (and slot checks) in a row.
	Failures int
	// Missed counts the slots missed while the bridge was not running and
	// superseded by a catch-up run, since the streak began.
	Missed int
	// Since is when the streak's first failure happened.
	Since time.Time
	// Notified is true once OnFailure was called for this streak.
	Notified bool
}

// loadStreak reads job's streak; none is the zero Streak.
func loadStreak(ctx context.Context, st *store.Store, job string) (Streak, error) {
	var s Streak
	var since, notified int64
	err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT failures, missed, since, notified FROM export_streaks WHERE job = ?`), job).
		Scan(&s.Failures, &s.Missed, &since, &notified)
	if errors.Is(err, sql.ErrNoRows) {
		return Streak{}, nil
	}
	if err != nil {
		return Streak{}, store.Classify(fmt.Sprintf("reading the failure streak of %s", job), err)
	}
	s.Since, s.Notified = time.UnixMicro(since).UTC(), notified != 0
	return s, nil
}

// saveStreak writes job's streak; the zero Streak deletes it.
func saveStreak(ctx context.Context, st *store.Store, job string, s Streak) error {
	var err error
	if s.Failures == 0 {
		_, err = st.DB().ExecContext(ctx, st.Rebind(`DELETE FROM export_streaks WHERE job = ?`), job)
	} else {
		notified := 0
		if s.Notified {
			notified = 1
		}
		_, err = st.DB().ExecContext(ctx, st.Rebind(`INSERT INTO export_streaks (job, failures, missed, since, notified)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (job) DO UPDATE SET failures = excluded.failures,
			missed = excluded.missed, since = excluded.since, notified = excluded.notified`),
			job, s.Failures, s.Missed, s.Since.UnixMicro(), notified)
	}
	if err != nil {
		return store.Classify(fmt.Sprintf("recording the failure streak of %s", job), err)
	}
	return nil
}

// addFailure counts one failure (and missed slots) in job's streak, in one
// transaction, and reports whether this failure is the one to notify: the
// streak had not been notified. The upsert locks the row until commit, so
// of several replicas failing at once exactly one notifies.
func addFailure(ctx context.Context, st *store.Store, job string, missed int, now time.Time) (Streak, bool, error) {
	var s Streak
	var notify bool
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var since, notified int64
		err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`INSERT INTO export_streaks (job, failures, missed, since, notified)
			VALUES (?, 1, ?, ?, 0) ON CONFLICT (job) DO UPDATE SET failures = export_streaks.failures + 1,
			missed = export_streaks.missed + excluded.missed
			RETURNING failures, missed, since, notified`), job, missed, now.UnixMicro()).
			Scan(&s.Failures, &s.Missed, &since, &notified)
		if err != nil {
			return err
		}
		s.Since = time.UnixMicro(since).UTC()
		if notified != 0 {
			s.Notified = true
			return nil
		}
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE export_streaks SET notified = 1 WHERE job = ?`), job); err != nil {
			return err
		}
		s.Notified, notify = true, true
		return nil
	})
	if err != nil {
		return Streak{}, false, store.Classify(fmt.Sprintf("recording a failure of %s", job), err)
	}
	return s, notify, nil
}

// endStreak deletes job's streak and returns it; ok is false when there
// was none (or another replica ended it first).
func endStreak(ctx context.Context, st *store.Store, job string) (Streak, bool, error) {
	var s Streak
	var found bool
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var since, notified int64
		err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`DELETE FROM export_streaks WHERE job = ? RETURNING failures, missed, since, notified`), job).
			Scan(&s.Failures, &s.Missed, &since, &notified)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		s.Since, s.Notified, found = time.UnixMicro(since).UTC(), notified != 0, true
		return nil
	})
	if err != nil {
		return Streak{}, false, store.Classify(fmt.Sprintf("ending the failure streak of %s", job), err)
	}
	return s, found && s.Failures > 0, nil
}
