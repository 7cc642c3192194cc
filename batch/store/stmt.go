package store

import (
	"context"
	"database/sql"
)

// Hot queries, prepared once per *sql.DB when the store opens (see
// [Store.prepare]) so that the database does not re-parse them on every
// call. exec and row look queries up here by their text: a query that is
// not listed simply runs unprepared.
const (
	qCreateResource = `INSERT INTO resources (type, id, version, sha256, updated_at, start_at, status)
		VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qCurrentVersion = `SELECT version, sha256 FROM resources WHERE type = ? AND id = ?`
	qInsertVersion  = `INSERT INTO resource_versions (type, id, version, sha256, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`
	qUpdateResource = `UPDATE resources SET version = ?, sha256 = ?, updated_at = ?,
		start_at = ?, status = ?, deleted = 0 WHERE type = ? AND id = ?`
	qGetResource = `SELECT v.body, v.version, r.deleted
		FROM resources r JOIN resource_versions v
		  ON v.type = r.type AND v.id = r.id AND v.version = r.version
		WHERE r.type = ? AND r.id = ?`
	qClaimIdentifier = `INSERT INTO identifiers (type, system, value_hash, resource_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qFindIdentifier  = `SELECT resource_id FROM identifiers WHERE type = ? AND system = ? AND value_hash = ?`
	qRememberRequest = `INSERT INTO requests (key, status, response, created_at, body_hash)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qRequest      = `SELECT status, response, body_hash FROM requests WHERE key = ?`
	qLinkVendorID = `INSERT INTO crosswalk (vendor, type, fhir_id, vendor_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qVendorID      = `SELECT vendor_id FROM crosswalk WHERE vendor = ? AND type = ? AND fhir_id = ?`
	qInsertMessage = `INSERT INTO messages
		(at, direction, kind, resource_type, resource_id, vendor, status, outcome, body,
		 ident_hash, job_id, status_code, elapsed_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	qInsertMessageResource = `INSERT INTO message_resources (message_id, type, id, version)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qSetMessageStatus = `UPDATE messages SET status = ?, outcome = ? WHERE id = ?`
	qDeleteIndex      = `DELETE FROM resource_index WHERE type = ? AND id = ?`
	qInsertIndex      = `INSERT INTO resource_index
		(type, id, param, seq, value_system, value_text, value_exact, value_low, value_high)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// hotQueries are the queries [Store.prepare] prepares. qCurrentVersion is
// listed with the dialect's row-locking suffix at prepare time.
var hotQueries = []string{
	qCreateResource, qCurrentVersion, qInsertVersion, qUpdateResource,
	qGetResource, qClaimIdentifier, qFindIdentifier, qRememberRequest,
	qRequest, qLinkVendorID, qVendorID, qInsertMessage, qInsertMessageResource, qSetMessageStatus,
	qDeleteIndex, qInsertIndex,
}

// prepare prepares the hot queries on the pool. It runs once in Open,
// before the store is shared, so s.stmts is read-only afterwards and needs
// no lock. Preparing here, outside any transaction, matters: preparing on
// the pool from inside a transaction would need a second connection, which
// a pool capped at one connection never hands out. A query that fails to
// prepare is left out and runs unprepared, reporting its error when used.
func (s *Store) prepare(ctx context.Context) {
	s.stmts = make(map[string]*sql.Stmt, len(hotQueries))
	for _, q := range hotQueries {
		if q == qCurrentVersion {
			q += s.forUpdate()
		}
		st, err := s.db.PrepareContext(ctx, s.rebind(q))
		if err != nil {
			continue
		}
		s.stmts[q] = st
	}
}

// closeStmts releases the prepared statements.
func (s *Store) closeStmts() {
	for _, st := range s.stmts {
		_ = st.Close()
	}
}

// txStmt returns the transaction-bound form of query's prepared statement,
// or nil when query is not prepared. The bound form is made once per
// transaction and reused: database/sql keeps every handle StmtContext
// returns until the transaction ends, so binding per call grew memory with
// the statements a long transaction ran (2.7 GB for a 1,000,000-row
// cancellation file applied in one transaction).
func (tx *Tx) txStmt(ctx context.Context, query string) *sql.Stmt {
	st := tx.s.stmts[query]
	if st == nil {
		return nil
	}
	if b, ok := tx.bound[query]; ok {
		return b
	}
	if tx.bound == nil {
		tx.bound = map[string]*sql.Stmt{}
	}
	b := tx.tx.StmtContext(ctx, st)
	tx.bound[query] = b
	return b
}
