package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// ErrPreconditionFailed reports that a conditional write
// ([Tx.PutValueIfMatch]) found the resource missing or at another version
// than the one it was conditioned on; nothing was written.
var ErrPreconditionFailed = errors.New("precondition failed: the current version differs")

// PutValueIfMatch is [Tx.PutValue] conditioned on the current version:
// it stores v only when typ/id exists and its current version is ifMatch,
// and otherwise fails with [ErrPreconditionFailed] (also when typ/id was
// never stored). The check and the write are atomic: the current row is
// locked for the rest of the transaction (SELECT … FOR UPDATE on
// PostgreSQL; on SQLite the transaction holds the single write lock), so
// of two writers conditioned on the same version exactly one succeeds.
// ifMatch ≤ 0 means no condition (PutValue). It also returns when the
// resulting current version was stored: now for a new version, the
// earlier instant when the content was unchanged.
func (tx *Tx) PutValueIfMatch(ctx context.Context, typ, id string, v *fhir.Value, ifMatch int) (version int, changed bool, at time.Time, err error) {
	if v == nil || v.Kind != fhir.Object {
		return 0, false, time.Time{}, fmt.Errorf("storing %s/%s: %w", typ, id, ErrInvalidBody)
	}
	version, changed, at, err = tx.put(ctx, typ, id, v.JSON(), v, canonicalValueHash(v), searchColumns(typ, v), max(ifMatch, 0))
	if err != nil || changed {
		return version, changed, at, err
	}
	err = tx.s.row(ctx, tx, "reading "+typ+"/"+id, `SELECT created_at FROM resource_versions
		WHERE type = ? AND id = ? AND version = ?`, []any{typ, id, version}, timeCol{&at})
	return version, false, at, err
}

// StoredVersion is one stored version of a resource of a known type.
type StoredVersion struct {
	// ID is the resource id.
	ID string
	Version
}

// ReadVersion returns version of typ/id, or its current version when
// version is 0, with the instant it was stored; [ErrNotFound] when the
// resource or that version does not exist, with [ErrDeleted] when that
// version is a deletion.
func (s *Store) ReadVersion(ctx context.Context, typ, id string, version int) (StoredVersion, error) {
	op := "reading a version of " + typ + "/" + id
	out := StoredVersion{ID: id}
	var q string
	args := []any{typ, id}
	if version == 0 {
		q = `SELECT v.version, v.body, v.created_at, v.deleted
			FROM resources r JOIN resource_versions v
			  ON v.type = r.type AND v.id = r.id AND v.version = r.version
			WHERE r.type = ? AND r.id = ? AND r.version > 0`
	} else {
		q = `SELECT version, body, created_at, deleted FROM resource_versions
			WHERE type = ? AND id = ? AND version = ?`
		args = append(args, version)
	}
	var deleted int
	if err := s.row(ctx, s.db, op, q, args, &out.Version.Version, &out.Body, timeCol{&out.At}, &deleted); err != nil {
		return StoredVersion{}, err
	}
	if deleted != 0 { // a deletion ([Tx.DeleteResource]) reads as gone
		return StoredVersion{}, deletedError(op)
	}
	return out, nil
}

// HistoryQuery selects one page of stored versions, newest first.
type HistoryQuery struct {
	// Type is the resource type; ID one resource of it, or "" for every
	// resource of Type.
	Type, ID string
	// Since keeps only the versions stored at or after it (zero: all).
	Since time.Time
	// After, when not nil, continues a listing after this version: the
	// last one of the previous page. Versions are ordered by (At, ID,
	// Version) descending; for one resource that is Version descending.
	After *StoredVersion
	// Limit caps the versions returned (≥ 1).
	Limit int
}

// HistoryPage returns at most q.Limit versions selected by q, newest
// first. The history of one resource that was never stored is
// [ErrNotFound]; an empty page is not an error otherwise.
func (s *Store) HistoryPage(ctx context.Context, q HistoryQuery) ([]StoredVersion, error) {
	op := "reading the history of " + q.Type
	if q.ID != "" {
		op += "/" + q.ID
	}
	if q.Limit < 1 {
		return nil, fmt.Errorf("%s: limit %d is not positive", op, q.Limit)
	}
	var where strings.Builder
	where.WriteString("type = ?")
	args := []any{q.Type}
	if q.ID != "" {
		where.WriteString(" AND id = ?")
		args = append(args, q.ID)
	}
	if !q.Since.IsZero() {
		where.WriteString(" AND created_at >= ?")
		args = append(args, s.ts(q.Since))
	}
	if a := q.After; a != nil {
		if q.ID != "" {
			where.WriteString(" AND version < ?")
			args = append(args, a.Version.Version)
		} else {
			at := s.ts(a.At)
			where.WriteString(" AND (created_at < ? OR created_at = ? AND (id < ? OR id = ? AND version < ?))")
			args = append(args, at, at, a.ID, a.ID, a.Version.Version)
		}
	}
	order := "created_at DESC, id DESC, version DESC"
	if q.ID != "" {
		order = "version DESC"
	}
	query := `SELECT id, version, body, created_at, deleted FROM resource_versions WHERE ` + where.String() +
		` ORDER BY ` + order + fmt.Sprintf(` LIMIT %d`, q.Limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, s.classify(op, err)
	}
	defer rows.Close()
	var out []StoredVersion
	for rows.Next() {
		var v StoredVersion
		var deleted int
		if err := rows.Scan(&v.ID, &v.Version.Version, &v.Body, timeCol{&v.At}, &deleted); err != nil {
			return nil, s.classify(op, err)
		}
		v.Deleted = deleted != 0
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(op, err)
	}
	if len(out) == 0 && q.ID != "" {
		var n int
		if err := s.row(ctx, s.db, op, `SELECT version FROM resources WHERE type = ? AND id = ?`,
			[]any{q.Type, q.ID}, &n); err != nil {
			return nil, err
		}
	}
	return out, nil
}
