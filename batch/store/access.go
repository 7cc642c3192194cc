package store

import "database/sql"

// Packages that keep their own tables in the store's database (the delivery
// queue, the file ledger, …) query them through the accessors below. The
// store is the one place that knows the dialect: such packages write
// queries with ? placeholders and pass them through Rebind, take dialect
// differences from the helpers here, and wrap database errors with
// [Classify].

// SQL returns the transaction's underlying *sql.Tx, for packages that keep
// their own tables in the store's database and must write in the caller's
// transaction. Pass queries through [Tx.Rebind]; it is valid only inside
// InTx's function.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// DB returns the store's underlying connection pool, for packages that
// keep their own tables in the store's database.
func (s *Store) DB() *sql.DB { return s.db }

// Rebind turns a query written with ? placeholders into the dialect's
// ($1, $2, … on PostgreSQL), for packages with their own tables. The query
// must hold no literal '?'.
func (s *Store) Rebind(query string) string { return s.rebind(query) }

// Rebind is [Store.Rebind] for the transaction's store.
func (tx *Tx) Rebind(query string) string { return tx.s.rebind(query) }

// SkipLocked is the suffix of a SELECT that claims queue rows inside a
// transaction: on PostgreSQL " FOR UPDATE SKIP LOCKED" (lock the rows,
// leave those another instance holds), on SQLite "" (the transaction holds
// the database's write lock from BEGIN, so no other writer runs).
func (tx *Tx) SkipLocked() string {
	if tx.s.dialect == postgresDialect {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// SingleProcess reports whether the store belongs to one process: true for
// a SQLite file, false for PostgreSQL, which several instances share. A
// single-process store may treat work left claimed by an earlier run as
// abandoned at start-up.
func (s *Store) SingleProcess() bool { return s.dialect == sqliteDialect }
