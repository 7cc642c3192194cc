// Package workbench runs a mapping and an edited version of it side by
// side on real inputs and reports, per input, the field-level differences
// of their outputs, with a summary: what a mapping change would do before
// it goes live. Nothing is sent anywhere: the engine only reads the store
// and calls the mapping.
//
// The inputs are the stored versions of the mapping's source type in a
// time range (forward mappings; references resolve against the store's
// current resources, as a route resolves them when it delivers), or one
// pasted resource, Bundle, vendor record (list) or HL7 v2 message. The
// store keeps no inbound vendor records, so a reverse mapping is tried on
// pasted input only.
//
// A run is streamed: each input's Result goes to a callback as soon as it
// is known, the store is read in keyset pages, the run stops at a cap on
// inputs and when its context is cancelled, and only the summary is kept.
// Errors and the summary name our ids, types, JSON paths and counts,
// never a value of the inputs; a Result's Before and After outputs hold
// patient data and are for the caller to show to those allowed to see it.
//
// Cases turns chosen inputs and the edited mapping's outputs into the
// text of a `*.cases.yaml` file that mapping/casetest reads, and checks
// that the edited mapping passes it.
package workbench
