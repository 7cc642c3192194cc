package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
)

// RequestKey derives an idempotency key for an inbound request: the
// Bundle.identifier as "id:system|value" when the sender gave one, otherwise
// "sha256:" and the hex SHA-256 of the body.
func RequestKey(identifierSystem, identifierValue string, body []byte) string {
	if identifierValue != "" {
		return "id:" + identifierSystem + "|" + identifierValue
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RememberRequest records the response given to the request identified by
// key, together with bodyHash, the canonical hash of the request body
// ([fhir.CanonicalHash]; "" when the key already derives from the body
// bytes, so that no comparison is needed). The first call for a key stores
// status and response and returns them with duplicate == false. A later
// call (including a concurrent one, which waits for the first transaction)
// stores nothing and either returns the first status and response with
// duplicate == true, when the bodies match, or fails with [ErrKeyReused],
// when both hashes are known and differ: the key was reused for another
// request. A row stored before body hashes were kept (hash NULL) matches
// any body, as before. The caller should then abort its transaction and
// replay the first response (or refuse the request), so that a retried
// Bundle is processed once.
func (tx *Tx) RememberRequest(ctx context.Context, key, bodyHash string, status int, response []byte) (firstStatus int, firstResponse []byte, duplicate bool, err error) {
	const op = "remembering request"
	if response == nil {
		response = []byte{}
	}
	res, err := tx.exec(ctx, op, qRememberRequest, key, status, response, tx.s.ts(tx.s.now()), nullHash(bodyHash))
	if err != nil {
		return 0, nil, false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, nil, false, tx.s.classify(op, err)
	} else if n == 1 {
		return status, response, false, nil
	}
	firstStatus, firstResponse, err = tx.s.request(ctx, tx, op, key, bodyHash)
	if err != nil {
		return 0, nil, false, err
	}
	return firstStatus, firstResponse, true, nil
}

// Request returns the response first given to the request identified by
// key, or [ErrNotFound], or [ErrKeyReused] when bodyHash and the stored
// hash are both known and differ (see [Tx.RememberRequest]). Use it for a
// cheap check before processing; the authoritative check is
// [Tx.RememberRequest] in the processing transaction.
func (s *Store) Request(ctx context.Context, key, bodyHash string) (status int, response []byte, err error) {
	return s.request(ctx, s.db, "looking up request", key, bodyHash)
}

// request reads the row of key and compares its body hash with bodyHash.
// The error names neither the key (it may carry a sender's identifier)
// nor the hashes.
func (s *Store) request(ctx context.Context, q querier, op, key, bodyHash string) (int, []byte, error) {
	var (
		status   int
		response []byte
		stored   sql.NullString
	)
	if err := s.row(ctx, q, op, qRequest, []any{key}, &status, &response, &stored); err != nil {
		return 0, nil, err
	}
	if bodyHash != "" && stored.Valid && stored.String != "" && stored.String != bodyHash {
		return 0, nil, fmt.Errorf("%s: %w", op, ErrKeyReused)
	}
	return status, response, nil
}

// nullHash stores an unknown body hash as NULL.
func nullHash(h string) sql.NullString { return sql.NullString{String: h, Valid: h != ""} }
