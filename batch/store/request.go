package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// key. The first call for a key stores status and response and returns them
// with duplicate == false. Any later call (including a concurrent one, which
// waits for the first transaction) stores nothing and returns the first
// status and response with duplicate == true; the caller should then abort
// its transaction and replay the first response, so that a retried Bundle
// is processed once.
func (tx *Tx) RememberRequest(ctx context.Context, key string, status int, response []byte) (firstStatus int, firstResponse []byte, duplicate bool, err error) {
	const op = "remembering request"
	if response == nil {
		response = []byte{}
	}
	res, err := tx.exec(ctx, op, qRememberRequest, key, status, response, tx.s.ts(tx.s.now()))
	if err != nil {
		return 0, nil, false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, nil, false, tx.s.classify(op, err)
	} else if n == 1 {
		return status, response, false, nil
	}
	if err := tx.s.row(ctx, tx, op, qRequest,
		[]any{key}, &firstStatus, &firstResponse); err != nil {
		return 0, nil, false, err
	}
	return firstStatus, firstResponse, true, nil
}

// Request returns the response first given to the request identified by
// key, or [ErrNotFound]. Use it for a cheap check before processing; the
// authoritative check is [Tx.RememberRequest] in the processing transaction.
func (s *Store) Request(ctx context.Context, key string) (status int, response []byte, err error) {
	err = s.row(ctx, s.db, "looking up request", qRequest,
		[]any{key}, &status, &response)
	return status, response, err
}
