package hl7v2

// Final reports whether the Reader has stopped for good: the last error
// of Next was an envelope, read or size-limit error (returned again by
// every later Next), not an error of one message that Next can go past.
func (r *Reader) Final() bool { return r.err != nil }
