package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Version is one stored version of a resource.
type Version struct {
	// Version counts from 1 and grows by one per change of content.
	Version int
	// Body is the resource JSON as it was stored.
	Body []byte
	// At is when this version was stored (UTC).
	At time.Time
	// Deleted marks a deletion ([Tx.DeleteResource]): Body is then the
	// last live body, kept so that a flow can map what it cancels.
	Deleted bool
}

// PutResource stores body as the current version of resource typ/id.
//
// A new version is created only when the canonical content differs from the
// current version: JSON objects compared with keys sorted and whitespace
// removed, ignoring meta.versionId and meta.lastUpdated (which the store
// owns). Otherwise it returns the current version with changed == false.
// Earlier versions stay available through [Store.History]. body must be a
// JSON object ([ErrInvalidBody]).
func (tx *Tx) PutResource(ctx context.Context, typ, id string, body []byte) (version int, changed bool, err error) {
	v, err := decodeObject(body)
	if err != nil {
		return 0, false, fmt.Errorf("storing %s/%s: %w", typ, id, err)
	}
	version, changed, _, err = tx.put(ctx, typ, id, body, v, canonicalValueHash(v), searchColumns(typ, v), 0)
	return version, changed, err
}

// PutValue is PutResource for a resource already decoded: its JSON and
// its canonical hash come from v, so the body is not parsed again (the
// endpoint's hot path). v must be a JSON object ([ErrInvalidBody]).
func (tx *Tx) PutValue(ctx context.Context, typ, id string, v *fhir.Value) (version int, changed bool, err error) {
	if v == nil || v.Kind != fhir.Object {
		return 0, false, fmt.Errorf("storing %s/%s: %w", typ, id, ErrInvalidBody)
	}
	version, changed, _, err = tx.put(ctx, typ, id, v.JSON(), v, canonicalValueHash(v), searchColumns(typ, v), 0)
	return version, changed, err
}

// put stores body, decoded as v, whose canonical hash is sum and search
// columns sc (see PutResource), rewrites its search index rows when it
// makes a new version, and returns the instant of a new version (zero
// when the content was unchanged). ifMatch > 0 makes the write
// conditional on the current version (see [Tx.PutValueIfMatch]).
func (tx *Tx) put(ctx context.Context, typ, id string, body []byte, v *fhir.Value, sum string, sc searchCols, ifMatch int) (version int, changed bool, at time.Time, err error) {
	op := "storing " + typ + "/" + id
	at = tx.s.now().UTC().Truncate(time.Microsecond)
	now := tx.s.ts(at)
	if ifMatch <= 0 {
		if created, err := tx.createFirst(ctx, op, typ, id, body, sum, now, sc); err != nil {
			return 0, false, time.Time{}, err
		} else if created {
			if err := tx.writeIndex(ctx, op, typ, id, v, at, true); err != nil {
				return 0, false, time.Time{}, err
			}
			return 1, true, at, nil
		}
	}
	var cur int
	var curSum string
	if err := tx.s.row(ctx, tx, op, qCurrentVersion+tx.s.forUpdate(),
		[]any{typ, id}, &cur, &curSum); err != nil {
		if ifMatch > 0 && errors.Is(err, ErrNotFound) {
			return 0, false, time.Time{}, fmt.Errorf("%s: %w", op, ErrPreconditionFailed)
		}
		return 0, false, time.Time{}, err
	}
	if ifMatch > 0 && cur != ifMatch {
		return 0, false, time.Time{}, fmt.Errorf("%s: %w", op, ErrPreconditionFailed)
	}
	if cur > 0 && curSum == sum {
		return cur, false, time.Time{}, nil
	}
	next := cur + 1
	if _, err := tx.exec(ctx, op, qInsertVersion, typ, id, next, sum, body, now); err != nil {
		return 0, false, time.Time{}, err
	}
	if _, err := tx.exec(ctx, op, qUpdateResource, next, sum, now, sc.startAt, sc.status, typ, id); err != nil {
		return 0, false, time.Time{}, err
	}
	if err := tx.writeIndex(ctx, op, typ, id, v, at, false); err != nil {
		return 0, false, time.Time{}, err
	}
	return next, true, at, nil
}

// createFirst stores body (search columns sc) as version 1 of typ/id
// when typ/id has no row yet, and reports whether it did: two statements for a new resource, the
// endpoint's common case. When the row exists (or a concurrent first
// writer holds it: PostgreSQL makes this insert wait for that writer's
// outcome), nothing is written and put goes on with the current version,
// which the insert's conflict left in place to be locked.
func (tx *Tx) createFirst(ctx context.Context, op, typ, id string, body []byte, sum string, now any, sc searchCols) (bool, error) {
	res, err := tx.exec(ctx, op, qCreateResource, typ, id, sum, now, sc.startAt, sc.status)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, tx.s.classify(op, err)
	}
	if n == 0 {
		return false, nil
	}
	if _, err := tx.exec(ctx, op, qInsertVersion, typ, id, 1, sum, body, now); err != nil {
		return false, err
	}
	return true, nil
}

// GetResource returns the current version of typ/id as seen by this
// transaction, or [ErrNotFound] (also, with [ErrDeleted], when the
// current version is a deletion).
func (tx *Tx) GetResource(ctx context.Context, typ, id string) (body []byte, version int, err error) {
	return tx.s.getResource(ctx, tx, typ, id)
}

// GetResource returns the latest committed version of typ/id, or
// [ErrNotFound] (also, with [ErrDeleted], when the current version is a
// deletion).
func (s *Store) GetResource(ctx context.Context, typ, id string) (body []byte, version int, err error) {
	return s.getResource(ctx, s.db, typ, id)
}

func (s *Store) getResource(ctx context.Context, q querier, typ, id string) ([]byte, int, error) {
	var body []byte
	var version, deleted int
	op := "reading " + typ + "/" + id
	err := s.row(ctx, q, op, qGetResource, []any{typ, id}, &body, &version, &deleted)
	if err != nil {
		return nil, 0, err
	}
	if deleted != 0 {
		return nil, version, deletedError(op)
	}
	return body, version, nil
}

// History returns every stored version of typ/id, newest first, or
// [ErrNotFound] when the resource was never stored. Deletions are
// versions too, with Deleted set.
func (s *Store) History(ctx context.Context, typ, id string) ([]Version, error) {
	op := "reading history of " + typ + "/" + id
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT version, body, created_at, deleted FROM resource_versions
		WHERE type = ? AND id = ? ORDER BY version DESC`), typ, id)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var deleted int
		if err := rows.Scan(&v.Version, &v.Body, timeCol{&v.At}, &deleted); err != nil {
			return nil, s.classify(op, err)
		}
		v.Deleted = deleted != 0
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(op, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return out, nil
}

// canonicalHash is the hex SHA-256 of body's canonical form: the JSON
// re-encoded with sorted keys, no insignificant whitespace, numbers kept
// verbatim, and meta.versionId / meta.lastUpdated removed.
func canonicalHash(body []byte) (string, error) {
	v, err := decodeObject(body)
	if err != nil {
		return "", err
	}
	return canonicalValueHash(v), nil
}

// decodeObject decodes body, which must be a JSON object
// ([ErrInvalidBody]).
func decodeObject(body []byte) (*fhir.Value, error) {
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil || v.Kind != fhir.Object {
		// The decoder's message names no value, but the kind is enough.
		return nil, ErrInvalidBody
	}
	return v, nil
}

// canonicalValueHash is the hex SHA-256 of v's canonical form (see
// [fhir.CanonicalHash]).
func canonicalValueHash(v *fhir.Value) string { return fhir.CanonicalHash(v) }

// Current calls fn with the current version of every stored resource of
// typ that is not deleted, in id order, and stops at the first error fn returns (passed on
// unchanged). fn may read the store but must not call InTx: on SQLite the
// rows stay open while fn runs.
func (s *Store) Current(ctx context.Context, typ string, fn func(id string, version int, body []byte) error) error {
	return s.eachCurrent(ctx, "listing "+typ+" resources", s.rebind(`SELECT r.id, v.version, v.body
		FROM resources r JOIN resource_versions v
		  ON v.type = r.type AND v.id = r.id AND v.version = r.version
		WHERE r.type = ? AND r.version > 0 AND r.deleted = 0 ORDER BY r.id`), []any{typ}, fn)
}

// eachCurrent runs q (id, version, body per row) and calls fn per row,
// stopping at fn's first error (passed on unchanged); op names the
// operation in the store's errors.
func (s *Store) eachCurrent(ctx context.Context, op, q string, args []any, fn func(id string, version int, body []byte) error) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return s.classify(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var version int
		var body []byte
		if err := rows.Scan(&id, &version, &body); err != nil {
			return s.classify(op, err)
		}
		if err := fn(id, version, body); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.classify(op, err)
	}
	return nil
}
