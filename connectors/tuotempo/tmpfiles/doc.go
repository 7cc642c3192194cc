// Package tmpfiles takes back tuOtempO's temporary tables as files: the
// TT_RESERVATIONS_TMP rows tuOtempO writes for bookings made, moved and
// cancelled online (spec section B.1) and the TT_DELETE_RESERVATION rows
// of patients who cancelled from a reminder (A.2.3), dropped by tuOtempO
// on the shared remote (SFTP, FTP or a folder) instead of written into a
// database through Sincro.
//
// # Taking a file
//
// A Poller lists its folder on every Poll and takes a file matching its
// pattern once it is stable — same size and modification time as on the
// previous poll and older than MinAge — exactly like the cancellation
// files of batch/inbound. A file over MaxFileSize goes to the error folder
// unread.
//
// # Exactly once
//
// A taken file is downloaded and hashed (SHA-256). The file ledger
// (batch/ledger, direction in, the job's name) decides, as for the
// cancellation files: the same path and hash recorded before means the
// file was applied and the bridge stopped before moving it — nothing is
// applied again, the move is finished; the same hash under another path
// is a duplicate, recorded and moved to the error folder unapplied;
// otherwise the rows are applied and the file recorded. The rows go to a
// ws.Booker, whose every change is its own store transaction, so the
// ledger entry is recorded just after the last row: a bridge stopping in
// between sends the file's rows again on the next poll, which the Booker
// answers as the first time (a retried Add answers its first record; a
// cancelled appointment stays cancelled). A Booker that is unavailable
// (ws.Unavailable) stops the file without recording it: it is retried on
// the next poll.
//
// After the ledger entry the file moves to processed/ (every row applied)
// or error/ (a row refused, a bad header, a duplicate, too big), with a
// sidecar <name>.report.txt rendered from the ledger entry.
//
// # Rows
//
// The header must name the table's key columns (TT_RESERVATIONS_TMP:
// APP_LID, APP_TID, APP_ACTION, APP_DATE, APP_START_TIME, RESOURCE_LID;
// TT_DELETE_RESERVATION: APP_LID); any column the guide's table does not
// list, or a column named twice, refuses the whole file (it is another
// table, or a misconfigured export: better stopped than half read). The
// delimiter is detected (',' ';' '|' or TAB). A row longer than
// MaxRowSize, or a cell longer than its column's nvarchar limit, is
// refused.
//
//   - TT_RESERVATIONS_TMP, APP_ACTION add: Booker.Add with the row's
//     non-empty columns as parameters (there is no AVAILABILITY_LID: the
//     Booker finds the slot by RESOURCE_LID, APP_DATE and APP_START_TIME);
//   - update: Booker.Move of APP_LID with the same parameters;
//   - delete: Booker.Cancel of APP_LID, by the patient;
//   - TT_DELETE_RESERVATION: Booker.Cancel of APP_LID, by the patient.
//
// The bookkeeping columns (APP_TMP_ID, APP_ACTION, STATUS_TRIGGER,
// APP_STATUS, INSERT_TIME) are not passed on.
//
// # Privacy
//
// Ledger details, reports, logs and errors carry the job, the file's path,
// line numbers, counts, actions and column names. A refusal from the
// Booker (an ERROR record, or a ws.Error) is reported by its line with the
// Booker's message, in which every cell value of that row is replaced by
// "[value]" and which is cut at 120 characters; the row's cells are never
// written.
package tmpfiles
