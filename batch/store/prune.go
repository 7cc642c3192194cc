package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Batched pruning of the store's own tables, for a retention job that
// must never hold the writer long: each call deletes at most limit rows
// in one transaction and returns how many it deleted, so the caller loops
// until fewer than limit come back. Every delete names its rows by a
// condition re-checked in the statement, so two concurrent callers delete
// each row once and neither fails.

// PruneMessagesBatch deletes up to limit messages older than olderThan
// whose status is terminal (delivered, rejected, accepted); pending,
// in-flight and dead-lettered messages stay whatever their age.
func (s *Store) PruneMessagesBatch(ctx context.Context, olderThan time.Time, limit int) (int64, error) {
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(terminalStatuses)), ", ")
	args := []any{s.ts(olderThan)}
	for _, st := range terminalStatuses {
		args = append(args, st)
	}
	args = append(args, limit)
	sel := `SELECT id FROM messages WHERE at < ? AND status IN (` + ph + `) ORDER BY at LIMIT ?`
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		// the resources an inbound message lists go with it
		if _, err := tx.exec(ctx, "pruning message resources",
			`DELETE FROM message_resources WHERE message_id IN (`+sel+`)`, args...); err != nil {
			return err
		}
		res, err := tx.exec(ctx, "pruning messages", `DELETE FROM messages WHERE id IN (`+sel+`)`, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return s.classify("pruning messages", err)
	})
	return n, err
}

// PruneRequestsBatch deletes up to limit remembered requests (stored
// idempotency responses) first stored before olderThan: a retry of such a
// request is then processed again (its resources are unchanged, so it
// creates no new version).
func (s *Store) PruneRequestsBatch(ctx context.Context, olderThan time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, "pruning requests", `DELETE FROM requests WHERE key IN (
		SELECT key FROM requests WHERE created_at < ? ORDER BY created_at LIMIT ?)`, s.ts(olderThan), limit)
}

// PruneVersionsBatch deletes up to limit stored versions of resources
// that are more than keep versions older than their current one (keep >=
// 1; the current version is never deleted), except versions that a
// delivery job in one of the states in held still names (its worker or
// an operator's retry reads that version's body). The delivery_jobs table
// must exist (the delivery line is registered).
func (s *Store) PruneVersionsBatch(ctx context.Context, keep int, held []string, limit int) (int64, error) {
	if keep < 1 {
		return 0, fmt.Errorf("pruning resource versions: keep %d, want at least 1", keep)
	}
	args := []any{keep}
	cond := ""
	if len(held) > 0 {
		cond = ` AND NOT EXISTS (SELECT 1 FROM delivery_jobs j
			WHERE j.resource_type = v.type AND j.resource_id = v.id AND j.version = v.version
			  AND j.state IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(held)), ", ") + `))`
		for _, h := range held {
			args = append(args, h)
		}
	}
	args = append(args, limit)
	return s.deleteBatch(ctx, "pruning resource versions", `DELETE FROM resource_versions
		WHERE (type, id, version) IN (
		SELECT v.type, v.id, v.version FROM resource_versions v JOIN resources r
		  ON r.type = v.type AND r.id = v.id
		WHERE v.version <= r.version - ?`+cond+` LIMIT ?)`, args...)
}

// deleteBatch runs one DELETE in its own transaction and returns the rows
// it deleted.
func (s *Store) deleteBatch(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, op, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return s.classify(op, err)
	})
	return n, err
}
