// Package hl7v2 reads and writes HL7 v2 messages (v2.3 to v2.8) in their
// usual "pipe and hat" encoding, ER7.
//
// # Model
//
// A Message is a list of Segments (name, 0-based Index in the message,
// 1-based Occurrence among segments of the same name). A segment is a
// list of fields numbered from 1; a field holds repetitions (~), a
// repetition components (^), a component subcomponents (&). The
// separators are never assumed: they are read from MSH-1 (the field
// separator, the character right after "MSH") and MSH-2 (component,
// repetition, escape, subcomponent and, from v2.7, truncation
// characters). As the standard numbers them, MSH-1 is the separator
// itself and MSH-2 the encoding characters; both read back verbatim and
// are never split. FHS and BHS carry their own separators the same way.
//
// Segments end with CR; LF and CRLF are tolerated and empty lines are
// skipped. Z-segments are kept like any other and addressed by name.
//
// # Paths
//
// A Path addresses a value: "PID-3", "PID-5[1].1", "OBX[2]-5",
// "SCH-11.4", "PID-3[2].4.1" — segment, optional occurrence of the
// segment, field, optional repetition, component and subcomponent.
// ParsePath is strict (one spelling per path, so Path.String gives the
// input back). An omitted occurrence, repetition, component or
// subcomponent means the first. Message.Get and Message.Lookup return the
// value unescaped: \F\ \S\ \T\ \R\ \E\ (\P\) give the delimiters,
// \Xhh..\ bytes in the message's character set, \.br\ a line break.
//
// # Character sets
//
// MSH-18 selects the character set: "UNICODE UTF-8", "8859/1" (ISO
// 8859-1) or "ASCII"; an empty MSH-18 reads as Options.DefaultCharset
// (UTF-8 unless set). Any other value is an error naming MSH-18. Text is
// held as UTF-8 and written back in the message's set by Encode.
//
// # Streams and batches
//
// Parse reads one message. A Reader streams the messages of a file —
// plain messages one after the other, or a batch file
// FHS/BHS/messages/BTS/FTS, whose BTS-1 and FTS-1 counts are checked —
// numbering messages from 1. Limits bound message bytes, segments per
// message and fields per segment.
//
// # Errors
//
// Every error is an *Error wrapping a sentinel (ErrSyntax, ErrEscape,
// ErrCharset, ErrLimit, ...). It names the message number, the segment
// and the location as a path (`PID-5[1].1`), never a value from the
// message, so errors can be logged without leaking patient data.
//
// # Writing
//
// NewMessage, AddSegment and Set build a message, escaping values on
// write; Encode writes any message in ER7, so that parsing the output
// gives the same message back.
//
// # Acknowledgments
//
// Ack builds the original-mode ACK of a message (MSA-1 AA, AE or AR;
// for AE and AR an ERR segment with the location, a table 0357 code and
// fixed text); AckForUnparsable answers a message that could not be
// parsed from what its MSH line still gives. An Acker injects the clock
// and the control id generator.
package hl7v2
