package store

import (
	"context"
	"time"
)

// WAL checkpoints on SQLite.
//
// SQLite's default is to checkpoint (copy the write-ahead log's pages into
// the database file and fsync it) inside the COMMIT that makes the log pass
// 1,000 pages: under group commit that COMMIT is the single writer's, so
// every writer waited for the copy and its fsync. The store's connections
// run with wal_autocheckpoint(0) instead, and a checkpointer goroutine
// makes a PASSIVE checkpoint on a connection of its own every
// checkpointEvery, beside the writer: a passive checkpoint takes no write
// lock and copies only what no reader still needs. Durability is
// unchanged: a commit is durable once its log frames are synced, which
// COMMIT still waits for (synchronous=FULL).

// checkpointEvery is the checkpointer's period.
const checkpointEvery = 200 * time.Millisecond

// checkpointer runs checkpoints until the store closes, then a last one.
func (s *Store) checkpointer() {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			s.checkpoint()
			return
		case <-t.C:
			s.checkpoint()
		}
	}
}

// checkpoint makes one passive checkpoint. Its failure is not reported:
// the next period tries again, and meanwhile only the log grows (readers
// read through it either way).
func (s *Store) checkpoint() {
	var busy, logPages, copied int
	_ = s.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
}
