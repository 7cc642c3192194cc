// Package report imports a vendor's visit report — a CSV file, or the CSV
// inside a password-locked zip — through a reverse mapping into FHIR
// resources, streamed: memory does not grow with the report.
//
// The flow of one import:
//
//  1. The header row is read and compared with the mapping's declared
//     columns (CheckColumns). A difference refuses the whole report before
//     any row is mapped, naming the missing and the unexpected columns.
//  2. The rows are mapped by batch/mapjob (in parallel, in input order;
//     a refused row is reported by line number and the others still map).
//     Each row gives a collection Bundle whose entries are unpacked here:
//     every resource goes to a Sink (NDJSON, a Bundle file, or the store).
//  3. A Summary counts rows read, mapped and refused (the first refusals
//     listed by line), Encounters by status and by day, Patients written.
//
// Zip archives (Archive) are verified before a single row is applied: the
// CSV entry is decrypted, inflated and checked (CRC-32, and the WinZip AES
// authentication code) in a first pass whose plaintext is discarded, then
// decrypted and inflated again, streaming, into the mapper. A wrong password
// or a truncated or altered archive therefore fails the import with nothing
// written. Choice: the plaintext is never written to disk (it is patient
// data), at the cost of decrypting and inflating the archive twice — CPU,
// not memory: both passes stream. Decrypting AES-256 and inflating run at
// several hundred MB/s, a small fraction of the time the mapping takes.
//
// Errors and the summary carry line numbers, column names and counts only,
// never a value from a row.
package report
