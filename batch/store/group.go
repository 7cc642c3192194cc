package store

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Group commit on SQLite.
//
// SQLite has one writer at a time and every COMMIT under synchronous=FULL
// waits for an fsync of the write-ahead log. Left to the database,
// concurrent InTx calls queue on the write lock through SQLite's busy
// handler, which sleeps and polls, and each pays its own fsync. Instead,
// one goroutine per store does all SQLite writes: it takes every InTx call
// waiting at that moment (up to maxGroup), runs each function inside its
// own SAVEPOINT of one transaction, and commits them together with one
// fsync. A function that fails is rolled back to its savepoint and gets
// its own error; the others are unaffected. Each caller is answered only
// after the shared COMMIT is durable, so "nil means acknowledged" holds as
// before. If the shared transaction itself breaks (a savepoint cannot be
// rolled back or released, or COMMIT fails), every function of the group
// that had succeeded gets that error: nothing is acknowledged that was not
// committed.
//
// PostgreSQL runs concurrent transactions itself and keeps InTx direct.

// maxGroup caps the functions committed together, to bound the latency a
// late member of a group adds to the early ones.
const maxGroup = 64

// errClosed answers InTx calls made after Close.
var errClosed = fmt.Errorf("store is closed: %w", ErrUnavailable)

// groupStats counts committed groups and their members, for tests and
// the metrics of a running store.
type groupStats struct {
	groups, members atomic.Int64
}

// writeReq is one InTx call waiting for the writer.
type writeReq struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan writeResult
}

// writeResult is what the writer answers: fn's error, the group's failure,
// or a panic to re-raise in the caller's goroutine.
type writeResult struct {
	err      error
	panicked bool
	pv       any
}

// startWriter starts the SQLite writer goroutine.
func (s *Store) startWriter() {
	s.writes = make(chan *writeReq)
	s.closing = make(chan struct{})
	s.writerDone = make(chan struct{})
	s.checkpointDone = make(chan struct{})
	go s.writer()
	go s.checkpointer()
}

// stopWriter stops the writer after the group in progress, if any.
func (s *Store) stopWriter() {
	if s.closing == nil {
		return
	}
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.writerDone
	<-s.checkpointDone
}

// groupTx hands fn to the writer and waits for its answer.
func (s *Store) groupTx(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case s.writes <- r:
	case <-s.closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the request is always answered: waiting here without
	// watching ctx keeps a caller from reporting failure for a write the
	// writer is about to commit.
	res := <-r.done
	if res.panicked {
		panic(res.pv)
	}
	return res.err
}

// writer runs groups until the store closes.
func (s *Store) writer() {
	defer close(s.writerDone)
	group := make([]*writeReq, 0, maxGroup)
	for {
		select {
		case <-s.closing:
			return
		case r := <-s.writes:
			group = append(group[:0], r)
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-s.writes:
				group = append(group, r)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup runs the group's functions in one transaction, each under a
// savepoint, commits once and answers every caller.
func (s *Store) commitGroup(group []*writeReq) {
	results := make([]writeResult, len(group))
	ok := make([]bool, len(group))
	answer := func() {
		for i, r := range group {
			r.done <- results[i]
		}
	}
	sqlTx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		err = s.classify("beginning transaction", err)
		for i := range results {
			results[i].err = err
		}
		answer()
		return
	}
	tx := &Tx{s: s, tx: sqlTx}
	var broken error
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if _, err := sqlTx.Exec("SAVEPOINT fhirbridge_member"); err != nil {
			broken = s.classify("opening savepoint", err)
			break
		}
		results[i] = runMember(r, tx)
		if results[i].err != nil || results[i].panicked {
			if _, err := sqlTx.Exec("ROLLBACK TO fhirbridge_member"); err != nil {
				broken = s.classify("rolling back to savepoint", err)
				break
			}
		} else {
			ok[i] = true
		}
		if _, err := sqlTx.Exec("RELEASE fhirbridge_member"); err != nil {
			broken = s.classify("releasing savepoint", err)
			break
		}
	}
	if broken == nil {
		if err := sqlTx.Commit(); err != nil {
			broken = s.classify("committing transaction", err)
		} else {
			s.group.groups.Add(1)
			s.group.members.Add(int64(len(group)))
		}
	} else {
		_ = sqlTx.Rollback() // the members are told broken instead
	}
	if broken != nil {
		for i := range group {
			if ok[i] || (results[i].err == nil && !results[i].panicked) {
				results[i] = writeResult{err: broken}
			}
		}
	}
	answer()
}

// runMember runs one function, turning a panic into a result.
func runMember(r *writeReq, tx *Tx) (res writeResult) {
	defer func() {
		if pv := recover(); pv != nil {
			res = writeResult{panicked: true, pv: pv}
		}
	}()
	return writeResult{err: r.fn(tx)}
}

// GroupCommits reports how many SQLite group commits the store made and how
// many InTx calls they carried (members/groups is the mean group size);
// both are zero on PostgreSQL.
func (s *Store) GroupCommits() (groups, members int64) {
	return s.group.groups.Load(), s.group.members.Load()
}
