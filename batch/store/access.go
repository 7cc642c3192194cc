package store

import "database/sql"

// SQL returns the transaction's underlying *sql.Tx, for packages that keep
// their own tables in the store's database (the delivery queue) and must
// write in the caller's transaction. Queries through it use the dialect's
// placeholders (see [Tx.Dialect]); it is valid only inside InTx's function.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// Dialect names the SQL flavour of the transaction's store: "sqlite" or
// "postgres".
func (tx *Tx) Dialect() string { return tx.s.dialect.String() }

// DB returns the store's underlying connection pool, for packages that
// keep their own tables in the store's database.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect names the SQL flavour of the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.String() }

// Rebind turns a query written with ? placeholders into the dialect's
// ($1, $2, … on PostgreSQL), for packages with their own tables.
func (s *Store) Rebind(query string) string { return s.rebind(query) }

// Rebind is [Store.Rebind] for the transaction's store.
func (tx *Tx) Rebind(query string) string { return tx.s.rebind(query) }
