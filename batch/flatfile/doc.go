// Package flatfile reads and writes the delimited flat files (CSV and its
// semicolon, pipe and tab variants) that telehealth vendors exchange.
//
// The format is the one of RFC 4180 ("Common Format and MIME Type for
// Comma-Separated Values (CSV) Files"): records separated by line breaks
// (CRLF or, leniently, LF), fields separated by a delimiter, fields that
// contain the delimiter, a double quote or a line break enclosed in double
// quotes, and a double quote inside a quoted field doubled. The first
// record is a header naming the columns.
//
// Rows are exchanged as *fhir.Value objects whose member names are the
// column names in header order and whose members are strings.
//
// Reader streams: memory use does not grow with the file, and one record is
// capped (DefaultMaxRecordSize unless ReadOptions.MaxRecordSize says
// otherwise). A malformed record is reported as a *RecordError carrying its
// line number and the reader carries on with the next record, so a caller
// can report bad lines and keep mapping the rest.
//
// No error from this package contains the content of a cell: errors name
// lines, rows and columns only, so they can be logged without leaking
// patient data.
package flatfile
