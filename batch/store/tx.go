package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Tx is one store transaction, valid only inside the function passed to
// [Store.InTx]. It is not safe for concurrent use.
type Tx struct {
	s     *Store
	tx    *sql.Tx
	bound map[string]*sql.Stmt // prepared statements bound to tx, see txStmt
}

// QueryRowContext and QueryContext make a Tx a querier for the store's
// own reads inside the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// QueryContext: see QueryRowContext.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, query, args...)
}

// InTx runs fn in one transaction and commits it if fn returns nil. It
// returns nil only after COMMIT succeeded, which on both dialects means the
// data is on stable storage (SQLite synchronous=FULL, PostgreSQL
// synchronous_commit=on): the caller may acknowledge it.
//
// If fn returns an error or panics, the transaction is rolled back and the
// error (or panic) is passed on unchanged, so callers can return their own
// sentinel to abort, for example on a duplicate request. Failures to begin or
// commit match [ErrUnavailable] when the database cannot take writes now.
//
// On SQLite, concurrent calls are committed together (group commit, see
// group.go): fn then runs in the store's writer goroutine, under a
// savepoint of a transaction it may share with other calls, so fn must not
// call InTx itself. Statements inside fn are not interrupted by ctx (an
// interrupted SQLite write would roll back the whole shared transaction);
// a ctx already done when fn's turn comes skips fn.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if s.writes != nil {
		return s.groupTx(ctx, fn)
	}
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("beginning transaction", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback() // nothing to report: the caller gets fn's error
		}
	}()
	if err := fn(&Tx{s: s, tx: sqlTx}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		committed = true // database/sql refuses a rollback after a commit attempt
		return s.classify("committing transaction", err)
	}
	committed = true
	return nil
}

// querier is what reads need from *sql.DB and *sql.Tx alike.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// exec runs a write inside the transaction.
func (tx *Tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	var err error
	ctx = tx.s.stmtCtx(ctx)
	if st := tx.txStmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = tx.tx.ExecContext(ctx, tx.s.rebind(query), args...)
	}
	if err != nil {
		return nil, tx.s.classify(op, err)
	}
	return res, nil
}

// row scans one row, mapping sql.ErrNoRows to ErrNotFound.
// A query prepared in [Store.prepare] runs as its prepared statement.
func (s *Store) row(ctx context.Context, q querier, op, query string, args []any, dest ...any) error {
	var r *sql.Row
	t, inTx := q.(*Tx)
	if inTx {
		ctx = s.stmtCtx(ctx)
	}
	switch st := s.stmts[query]; {
	case st == nil:
		r = q.QueryRowContext(ctx, s.rebind(query), args...)
	case inTx:
		r = t.txStmt(ctx, query).QueryRowContext(ctx, args...)
	default:
		r = st.QueryRowContext(ctx, args...)
	}
	err := r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return s.classify(op, err)
}

// stmtCtx is the context for a statement inside a transaction: on SQLite
// it is not cancellable, because SQLite answers an interrupted write by
// rolling back the whole transaction, which under group commit other
// callers share.
func (s *Store) stmtCtx(ctx context.Context) context.Context {
	if s.dialect == sqliteDialect {
		return context.WithoutCancel(ctx)
	}
	return ctx
}
