package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrDeleted reports that the current version of a resource is a
// deletion ([Tx.DeleteResource]). Errors wrapping it wrap [ErrNotFound]
// too, so that a caller that only knows of absent resources treats a
// deleted one as absent; the FHIR endpoint tells them apart (410 Gone).
var ErrDeleted = errors.New("resource deleted")

// deletedError is the error of reading a deleted resource in op.
func deletedError(op string) error {
	return fmt.Errorf("%s: %w (%w)", op, ErrDeleted, ErrNotFound)
}

// qDeleteVersion stores a deletion as version ? of typ/id: a copy of the
// current (live) version's body and hash marked deleted.
const qDeleteVersion = `INSERT INTO resource_versions (type, id, version, sha256, body, created_at, deleted)
	SELECT type, id, ?, sha256, body, ?, 1 FROM resource_versions
	WHERE type = ? AND id = ? AND version = ?`

// qMarkDeleted makes version ? the current one and marks it deleted. The
// empty hash matches no body, so the next write of any content (the same
// as before the deletion included) stores a new live version.
const qMarkDeleted = `UPDATE resources SET version = ?, sha256 = '', updated_at = ?, deleted = 1
	WHERE type = ? AND id = ?`

// DeleteResource deletes typ/id: it stores a new version marked deleted
// whose body is the last live body (so that a flow can map what it
// cancels), and returns that version with deleted == true. Reads then
// fail with [ErrDeleted], listings ([Store.Current], [Store.CurrentWhere],
// [Store.CountCurrent]) skip the resource, and [Tx.ClaimIdentifier] lets
// another resource take over its identifiers; a later put stores a new
// live version (the resource comes back under its id).
//
// Deleting a resource whose current version is already a deletion
// changes nothing and returns that version with deleted == false; a
// resource never stored is [ErrNotFound]. The current row is locked, so
// of concurrent deletions exactly one stores a version.
func (tx *Tx) DeleteResource(ctx context.Context, typ, id string) (version int, deleted bool, err error) {
	op := "deleting " + typ + "/" + id
	var cur, gone int
	if err := tx.s.row(ctx, tx, op, `SELECT version, deleted FROM resources WHERE type = ? AND id = ?`+tx.s.forUpdate(),
		[]any{typ, id}, &cur, &gone); err != nil {
		return 0, false, err
	}
	if cur < 1 {
		return 0, false, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	if gone != 0 {
		return cur, false, nil
	}
	next, now := cur+1, tx.s.ts(tx.s.now())
	res, err := tx.exec(ctx, op, qDeleteVersion, next, now, typ, id, cur)
	if err != nil {
		return 0, false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, false, tx.s.classify(op, err)
	} else if n != 1 {
		return 0, false, fmt.Errorf("%s: the current version %d is not stored: %w", op, cur, ErrNotFound)
	}
	if _, err := tx.exec(ctx, op, qMarkDeleted, next, now, typ, id); err != nil {
		return 0, false, err
	}
	return next, true, nil
}

// isDeleted reports whether the current version of typ/id is a deletion
// (false when the resource is not stored).
func (tx *Tx) isDeleted(ctx context.Context, op, typ, id string) (bool, error) {
	var gone int
	err := tx.s.row(ctx, tx, op, `SELECT deleted FROM resources WHERE type = ? AND id = ?`, []any{typ, id}, &gone)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return gone != 0, err
}
