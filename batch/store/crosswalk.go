package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// valueHash is how identifier values are kept: the hex SHA-256 of the
// value, so that an MRN never sits in a column in clear.
func valueHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// FindByIdentifier returns the id of the resource of type typ that claimed
// the identifier system|value, or [ErrNotFound]. The resource may since
// have been deleted (its reads then fail with [ErrDeleted]).
func (tx *Tx) FindByIdentifier(ctx context.Context, typ, system, value string) (id string, err error) {
	err = tx.s.row(ctx, tx, "finding "+typ+" by identifier",
		qFindIdentifier,
		[]any{typ, system, valueHash(value)}, &id)
	return id, err
}

// ClaimIdentifier binds the identifier system|value of type typ to id unless
// another resource holds it already, and returns the id that holds it now.
// The database's unique constraint decides: of any number of concurrent
// callers exactly one wins and all of them see the winner's id (on
// PostgreSQL a loser waits for the winner's transaction to end). A caller
// whose id lost should answer with the winner (conditional create match).
//
// An identifier held by a deleted resource ([Tx.DeleteResource]) is
// taken over: id holds it from then on, as a deleted resource matches no
// conditional create, update or delete.
func (tx *Tx) ClaimIdentifier(ctx context.Context, typ, system, value, id string) (winnerID string, err error) {
	op := "claiming " + typ + " identifier"
	h := valueHash(value)
	now := tx.s.ts(tx.s.now())
	res, err := tx.exec(ctx, op, qClaimIdentifier, typ, system, h, id, now)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", tx.s.classify(op, err)
	} else if n == 1 {
		return id, nil // this call made the claim: no need to read it back
	}
	if err = tx.s.row(ctx, tx, op, qFindIdentifier,
		[]any{typ, system, h}, &winnerID); err != nil || winnerID == id {
		return winnerID, err
	}
	if gone, err := tx.isDeleted(ctx, op, typ, winnerID); err != nil || !gone {
		return winnerID, err
	}
	// The holder is deleted: take the identifier over, unless a concurrent
	// caller did first (the row no longer names the deleted holder).
	res, err = tx.exec(ctx, op, `UPDATE identifiers SET resource_id = ?, created_at = ?
		WHERE type = ? AND system = ? AND value_hash = ? AND resource_id = ?`, id, now, typ, system, h, winnerID)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", tx.s.classify(op, err)
	} else if n == 1 {
		return id, nil
	}
	err = tx.s.row(ctx, tx, op, qFindIdentifier, []any{typ, system, h}, &winnerID)
	return winnerID, err
}

// LinkVendorID records that FHIR resource typ/fhirID is vendorID at vendor.
// Each FHIR id has at most one vendor id per vendor and type, and the other
// way round. Linking the same pair again is a no-op; linking either side to
// something else is [ErrConflict].
func (tx *Tx) LinkVendorID(ctx context.Context, vendor, typ, fhirID, vendorID string) error {
	op := "linking " + vendor + " id to " + typ + "/" + fhirID
	if _, err := tx.exec(ctx, op, qLinkVendorID, vendor, typ, fhirID, vendorID, tx.s.ts(tx.s.now())); err != nil {
		return err
	}
	var have string
	err := tx.s.row(ctx, tx, op, qVendorID,
		[]any{vendor, typ, fhirID}, &have)
	switch {
	case errors.Is(err, ErrNotFound):
		// The vendor id is linked to another FHIR id.
		return fmt.Errorf("%s: vendor id already linked to another resource: %w", op, ErrConflict)
	case err != nil:
		return err
	case have != vendorID:
		return fmt.Errorf("%s: resource already linked to another vendor id: %w", op, ErrConflict)
	}
	return nil
}

// VendorID returns the id vendor uses for FHIR resource typ/fhirID as seen
// by this transaction, or [ErrNotFound].
func (tx *Tx) VendorID(ctx context.Context, vendor, typ, fhirID string) (string, error) {
	return tx.s.vendorID(ctx, tx, vendor, typ, fhirID)
}

// VendorID returns the id vendor uses for FHIR resource typ/fhirID, or
// [ErrNotFound].
func (s *Store) VendorID(ctx context.Context, vendor, typ, fhirID string) (string, error) {
	return s.vendorID(ctx, s.db, vendor, typ, fhirID)
}

func (s *Store) vendorID(ctx context.Context, q querier, vendor, typ, fhirID string) (id string, err error) {
	err = s.row(ctx, q, "looking up "+vendor+" id of "+typ+"/"+fhirID,
		qVendorID,
		[]any{vendor, typ, fhirID}, &id)
	return id, err
}

// FHIRID returns the FHIR id of the resource of type typ that vendor knows
// as vendorID (for what vendors report back), or [ErrNotFound].
func (s *Store) FHIRID(ctx context.Context, vendor, typ, vendorID string) (id string, err error) {
	// The vendor id is the vendor's, not a patient value, but keep it out of
	// the error all the same: the FHIR id is what we own.
	err = s.row(ctx, s.db, "looking up "+typ+" by "+vendor+" id",
		`SELECT fhir_id FROM crosswalk WHERE vendor = ? AND type = ? AND vendor_id = ?`,
		[]any{vendor, typ, vendorID}, &id)
	return id, err
}

// ReleaseIdentifier removes the claim of id on the identifier
// system|value of type typ, so that another resource can claim it
// ([Tx.ClaimIdentifier]); a claim held by another resource is left as it
// is. It reports whether id held the claim.
func (tx *Tx) ReleaseIdentifier(ctx context.Context, typ, system, value, id string) (bool, error) {
	op := "releasing " + typ + " identifier"
	res, err := tx.exec(ctx, op, `DELETE FROM identifiers
		WHERE type = ? AND system = ? AND value_hash = ? AND resource_id = ?`, typ, system, valueHash(value), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, tx.s.classify(op, err)
	}
	return n == 1, nil
}

// VersionBody returns the body of version of typ/id as this transaction
// sees it (for a deletion, the last live body it keeps), or
// [ErrNotFound] when that version was never stored or was pruned.
func (tx *Tx) VersionBody(ctx context.Context, typ, id string, version int) ([]byte, error) {
	var body []byte
	err := tx.s.row(ctx, tx, "reading a version of "+typ+"/"+id,
		`SELECT body FROM resource_versions WHERE type = ? AND id = ? AND version = ?`,
		[]any{typ, id, version}, &body)
	return body, err
}
