package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Version is one stored version of a resource.
type Version struct {
	// Version counts from 1 and grows by one per change of content.
	Version int
	// Body is the resource JSON as it was stored.
	Body []byte
	// At is when this version was stored (UTC).
	At time.Time
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
	op := "storing " + typ + "/" + id
	sum, err := canonicalHash(body)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", op, err)
	}
	now := tx.s.ts(tx.s.now())
	// Insert a placeholder so that the row exists and can be locked: two
	// concurrent first writers then serialize on it instead of colliding.
	if _, err := tx.exec(ctx, op, qPutPlaceholder, typ, id, now); err != nil {
		return 0, false, err
	}
	var cur int
	var curSum string
	if err := tx.s.row(ctx, tx.tx, op, qCurrentVersion+tx.s.forUpdate(),
		[]any{typ, id}, &cur, &curSum); err != nil {
		return 0, false, err
	}
	if cur > 0 && curSum == sum {
		return cur, false, nil
	}
	next := cur + 1
	if _, err := tx.exec(ctx, op, qInsertVersion, typ, id, next, sum, body, now); err != nil {
		return 0, false, err
	}
	if _, err := tx.exec(ctx, op, qUpdateResource, next, sum, now, typ, id); err != nil {
		return 0, false, err
	}
	return next, true, nil
}

// GetResource returns the current version of typ/id as seen by this
// transaction, or [ErrNotFound].
func (tx *Tx) GetResource(ctx context.Context, typ, id string) (body []byte, version int, err error) {
	return tx.s.getResource(ctx, tx.tx, typ, id)
}

// GetResource returns the latest committed version of typ/id, or
// [ErrNotFound].
func (s *Store) GetResource(ctx context.Context, typ, id string) (body []byte, version int, err error) {
	return s.getResource(ctx, s.db, typ, id)
}

func (s *Store) getResource(ctx context.Context, q querier, typ, id string) ([]byte, int, error) {
	var body []byte
	var version int
	err := s.row(ctx, q, "reading "+typ+"/"+id, qGetResource, []any{typ, id}, &body, &version)
	if err != nil {
		return nil, 0, err
	}
	return body, version, nil
}

// History returns every stored version of typ/id, newest first, or
// [ErrNotFound] when the resource was never stored.
func (s *Store) History(ctx context.Context, typ, id string) ([]Version, error) {
	op := "reading history of " + typ + "/" + id
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT version, body, created_at FROM resource_versions
		WHERE type = ? AND id = ? ORDER BY version DESC`), typ, id)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		if err := rows.Scan(&v.Version, &v.Body, timeCol{&v.At}); err != nil {
			return nil, s.classify(op, err)
		}
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		// The decoder's message can quote the body: report the kind only.
		return "", ErrInvalidBody
	}
	if meta, ok := obj["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(obj, "meta")
		}
	}
	canon, err := json.Marshal(obj)
	if err != nil {
		return "", ErrInvalidBody
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}
