// Package hl7in turns one HL7 v2 message, received over MLLP or POST
// /hl7v2, into a committed FHIR transaction and the message's
// acknowledgment.
//
// # Flow
//
// Handler.Process parses the message, picks the Translator configured for
// its message type (MSH-9.1), maps it to a transaction Bundle, sets
// Bundle.identifier to {system: IdentifierSystem, value:
// MSH-3|MSH-4|MSH-10}, checks the Bundle exactly as POST /fhir checks a
// posted one (server.PrepareTransaction), merges A40 "replaced-by" Patient
// entries onto the stored Patient, and commits through the same
// server.Backend a posted Bundle goes through (store and delivery routing
// in one transaction).
//
// # Acknowledgments
//
//   - AA only after the commit returned (or when the message's
//     Bundle.identifier was already committed: a retry, answered AA again
//     with nothing changed — also when the retried control id comes with
//     a different body, which is logged as a replay conflict).
//   - AE with an ERR segment (location, table 0357 code, fixed text) when
//     the message cannot be parsed (100/102), lacks MSH-10 (101), cannot
//     be mapped (the location the Translator gives, 102 unless it says
//     otherwise) or maps to FHIR that fails validation (102): nothing is
//     stored; and AE 207 (application internal error) when the store
//     could not commit now: nothing is stored and the sender is expected
//     to send the message again.
//   - AR for a message type with no Translator (200, MSH-9), a trigger
//     event its Translator does not take (201, MSH-9.2), a version outside
//     2.3–2.8 (203, MSH-12).
//
// When the caller's context ends first (the server forced down) no ACK is
// given, so the sender keeps the message and sends it again.
//
// # Patient data
//
// Logs, metrics, errors and ACK texts name message types, locations,
// classes and connection ids, never a value of the message (not even
// MSH-10).
package hl7in
