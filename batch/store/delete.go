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

// qMarkDeleted makes version ? the current one and marks it deleted. The
// empty hash matches no body, so the next write of any content (the same
// as before the deletion included) stores a new live version.
const qMarkDeleted = `UPDATE resources SET version = ?, sha256 = '', updated_at = ?, deleted = 1
	WHERE type = ? AND id = ?`

// DeleteResource deletes typ/id: it stores a new version marked deleted
// whose body is the last live body, and returns that version and body
// (so that a flow can map what it cancels). Reads then fail with
// [ErrDeleted], listings ([Store.Current], [Store.CurrentWhere],
// [Store.CountCurrent]) skip the resource, and [Tx.ClaimIdentifier] lets
// another resource take over its identifiers; a later put stores a new
// live version (the resource comes back under its id).
//
// Deleting a resource whose current version is already a deletion
// changes nothing and returns that version with last == nil; a resource
// never stored is [ErrNotFound]. The current row is locked, so of
// concurrent deletions exactly one stores a version.
func (tx *Tx) DeleteResource(ctx context.Context, typ, id string) (version int, last []byte, err error) {
	return tx.DeleteResourceIfMatch(ctx, typ, id, 0)
}

// DeleteResourceIfMatch is [Tx.DeleteResource] conditioned on the current
// version: with ifMatch > 0 it deletes only when typ/id exists at exactly
// that version (checked under the row lock, so atomically with the
// deletion), and otherwise fails with [ErrPreconditionFailed] (also when
// typ/id was never stored). A resource already deleted at version
// ifMatch changes nothing, as for DeleteResource.
func (tx *Tx) DeleteResourceIfMatch(ctx context.Context, typ, id string, ifMatch int) (version int, last []byte, err error) {
	op := "deleting " + typ + "/" + id
	var cur, gone int
	if err := tx.s.row(ctx, tx, op, `SELECT version, deleted FROM resources WHERE type = ? AND id = ?`+tx.s.forUpdate(),
		[]any{typ, id}, &cur, &gone); err != nil {
		if ifMatch > 0 && errors.Is(err, ErrNotFound) {
			return 0, nil, fmt.Errorf("%s: %w", op, ErrPreconditionFailed)
		}
		return 0, nil, err
	}
	if cur < 1 {
		return 0, nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	if ifMatch > 0 && cur != ifMatch {
		return 0, nil, fmt.Errorf("%s: %w", op, ErrPreconditionFailed)
	}
	if gone != 0 {
		return cur, nil, nil
	}
	var sum string
	if err := tx.s.row(ctx, tx, op, `SELECT sha256, body FROM resource_versions WHERE type = ? AND id = ? AND version = ?`,
		[]any{typ, id, cur}, &sum, &last); err != nil {
		return 0, nil, err
	}
	next, now := cur+1, tx.s.ts(tx.s.now())
	if _, err := tx.exec(ctx, op, `INSERT INTO resource_versions (type, id, version, sha256, body, created_at, deleted)
		VALUES (?, ?, ?, ?, ?, ?, 1)`, typ, id, next, sum, last, now); err != nil {
		return 0, nil, err
	}
	if _, err := tx.exec(ctx, op, qMarkDeleted, next, now, typ, id); err != nil {
		return 0, nil, err
	}
	// a deleted resource matches no search: its index rows go (a later
	// put writes them again)
	if _, err := tx.exec(ctx, op, qDeleteIndex, typ, id); err != nil {
		return 0, nil, err
	}
	return next, last, nil
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
