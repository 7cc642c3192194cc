package sincro

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// maxTries is how many times a row the booker could not answer
// (ws.Unavailable, store failures) is tried before it is marked ERROR.
const maxTries = 10

// statusMax is STATUS_TRIGGER's limit (nvarchar(4000)).
const statusMax = 4000

// Drain applies every pending row of the two temporary tables, oldest
// first, until none is left. A row the booker could not answer is passed
// over until the next poll; a store failure ends the pass. Replicas drain
// together: each row is claimed by one.
func (s *Sincro) Drain(ctx context.Context) {
	for _, t := range []string{ReservationsTmp, DeleteTable} {
		skip := []int64{}
		for ctx.Err() == nil {
			took, retry, err := s.claimOne(ctx, t, skip)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("sincro: taking a row failed; retried at the next poll", "table", t, "err", err)
				}
				break
			}
			if !took {
				break
			}
			if retry != 0 {
				skip = append(skip, retry)
			}
		}
	}
}

// outcome is what applying one row gave.
type outcome struct {
	status string // STATUS_TRIGGER
	appLID string // APP_LID of an add, "" otherwise
	retry  bool   // the booker could not answer: try again later
}

// claimOne claims the oldest pending row of table (FOR UPDATE SKIP
// LOCKED: rows other replicas hold are passed over), applies it and marks
// it done in the claim's transaction, passing over the rows in skip. It
// reports whether it took a row, and the row's id when the booker could
// not answer it (it stays pending).
//
// The booker books in a transaction of its own. A crash after it commits
// and before the mark commits leaves the row pending, and it is applied
// again: Booker.Add answers a retried identical call with the first
// call's record, so the patient is booked once, and a retried cancel or
// move finds the appointment already in the wanted state.
func (s *Sincro) claimOne(ctx context.Context, table string, skip []int64) (took bool, retry int64, err error) {
	cols := tmpColumns(table)
	// Claims and marks work on the storage table: the published view
	// shows neither the row's key nor its state.
	tbl := quoteIdent(privateSchema) + "." + quoteIdent(storage(table))
	var names []string
	for _, c := range cols {
		if c.Name != "INSERT_TIME" {
			names = append(names, quoteIdent(c.Name))
		}
	}
	tx, err := s.st.DB().BeginTx(ctx, nil)
	if err != nil {
		return false, 0, store.Classify("beginning a sincro claim", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	q := fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s IS NULL AND %s <> ALL($1) ORDER BY %s LIMIT 1 FOR UPDATE SKIP LOCKED",
		colID, colTries, strings.Join(names, ", "), tbl, colDone, colID, colID)
	vals := make([]sql.NullString, len(names))
	dest := []any{new(int64), new(int)}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	if err := tx.QueryRowContext(ctx, q, skip).Scan(dest...); errors.Is(err, sql.ErrNoRows) {
		return false, 0, nil
	} else if err != nil {
		return false, 0, store.Classify("claiming a "+table+" row", err)
	}
	id, tries := *dest[0].(*int64), *dest[1].(*int)
	fields := map[string]string{}
	j := 0
	for _, c := range cols {
		if c.Name == "INSERT_TIME" {
			continue
		}
		if v := strings.TrimSpace(vals[j].String); vals[j].Valid && v != "" {
			fields[c.Name] = v
		}
		j++
	}
	out := s.apply(ctx, table, fields)
	if out.retry && tries+1 < maxTries {
		s.log.Warn("sincro: booking unavailable; row retried at the next poll", "table", table, "row", id, "tries", tries+1)
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = %s + 1 WHERE %s = $1", tbl, colTries, colTries, colID), id); err != nil {
			return false, 0, store.Classify("counting a "+table+" try", err)
		}
		if err := tx.Commit(); err != nil {
			return false, 0, store.Classify("counting a "+table+" try", err)
		}
		return true, id, nil
	}
	if out.retry {
		out.status = "ERROR: booking unavailable"
	}
	set := fmt.Sprintf(`UPDATE %s SET "STATUS_TRIGGER" = $1, %s = now()`, tbl, colDone)
	args := []any{cut(out.status, statusMax), id}
	if out.appLID != "" && table == ReservationsTmp {
		set += `, "APP_LID" = $3`
		args = append(args, cut(out.appLID, 50))
	}
	if _, err := tx.ExecContext(ctx, set+fmt.Sprintf(" WHERE %s = $2", colID), args...); err != nil {
		return false, 0, store.Classify("marking a "+table+" row", err)
	}
	if err := tx.Commit(); err != nil {
		return false, 0, store.Classify("marking a "+table+" row", err)
	}
	ok := strings.HasPrefix(out.status, "OK")
	s.log.Info("sincro: row applied", "table", table, "row", id, "action", strings.ToLower(fields["APP_ACTION"]), "ok", ok)
	return true, 0, nil
}

// apply takes one row to the booker.
func (s *Sincro) apply(ctx context.Context, table string, f map[string]string) outcome {
	if table == DeleteTable {
		if f["APP_LID"] == "" {
			return outcome{status: "ERROR: APP_LID is required"}
		}
		rec, err := s.booker.Cancel(ctx, s.cfg.Center, f["APP_LID"], true)
		return result(rec, err)
	}
	params := map[string]string{}
	for k, v := range f {
		switch {
		case k == "APP_TMP_ID", k == "APP_ACTION", k == "STATUS_TRIGGER", strings.HasPrefix(k, "APP_CUSTOM_"):
		default:
			params[k] = v
		}
	}
	switch strings.ToLower(f["APP_ACTION"]) {
	case "add":
		delete(params, "APP_LID")
		rec, err := s.booker.Add(ctx, s.cfg.Center, params)
		out := result(rec, err)
		if strings.HasPrefix(out.status, "OK") {
			out.appLID = rec["APP_LID"]
		}
		return out
	case "update":
		if f["APP_LID"] == "" {
			return outcome{status: "ERROR: APP_LID is required to update"}
		}
		delete(params, "APP_LID")
		rec, err := s.booker.Move(ctx, s.cfg.Center, f["APP_LID"], params)
		return result(rec, err)
	case "delete":
		if f["APP_LID"] == "" {
			return outcome{status: "ERROR: APP_LID is required to delete"}
		}
		rec, err := s.booker.Cancel(ctx, s.cfg.Center, f["APP_LID"], true)
		return result(rec, err)
	}
	return outcome{status: "ERROR: APP_ACTION must be add, update or delete"}
}

// result turns the booker's answer into the row's outcome. A ws.Error's
// message and a record's ERROR_MESSAGE are the booker's own wording,
// which by the ws contract names fields, not the patient's data; any
// other error is not shown (it could be anything) and is retried.
func result(rec ws.Record, err error) outcome {
	if err != nil {
		var we *ws.Error
		if errors.As(err, &we) && we.Kind != ws.Unavailable {
			return outcome{status: "ERROR: " + we.Error()}
		}
		return outcome{retry: true}
	}
	for k, v := range rec {
		if strings.HasSuffix(k, "_RESULT") && !strings.EqualFold(v, "OK") {
			msg := rec["ERROR_MESSAGE"]
			if msg == "" {
				msg = "refused"
			}
			return outcome{status: "ERROR: " + msg}
		}
	}
	return outcome{status: "OK"}
}

// cut shortens s to n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// listen LISTENs on the tables' channel on a connection taken from the
// store's pool (the store does not expose its URL; the connection is
// taken out of the pool for good and closed, never given back, when
// listening ends) and wakes Run on each notification. It reconnects
// after a failure, backing off up to the poll interval, until ctx ends.
func (s *Sincro) listen(ctx context.Context) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("sincro: listening for inserts failed; polling meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Duration(s.cfg.Poll))
	}
}

// listenOnce listens on one connection until it fails or ctx ends.
func (s *Sincro) listenOnce(ctx context.Context) error {
	conn, err := s.st.DB().Conn(ctx)
	if err != nil {
		return store.Classify("connecting to listen", err)
	}
	defer conn.Close()
	var lerr error
	_ = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			lerr = errors.New("the store's driver is not pgx")
			return driver.ErrBadConn
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+quoteIdent(channel)); err != nil {
			lerr = store.Classify("listening", err)
			return driver.ErrBadConn
		}
		s.poke() // rows inserted before LISTEN took effect
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				lerr = store.Classify("waiting for a notification", err)
				// The connection still listens (or is broken): it must not
				// go back to the pool.
				return driver.ErrBadConn
			}
			s.poke()
		}
	})
	return lerr
}

// poke wakes Run without blocking.
func (s *Sincro) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
