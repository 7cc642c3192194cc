package xfer

import (
	"context"
	"io"
)

// Reader counts the bytes read from R and fails with ctx's error once ctx
// is done, so an upload stops between chunks when its job is cancelled.
// It deliberately has no Len or Size method: uploads stream.
type Reader struct {
	Ctx context.Context
	R   io.Reader
	// N is the number of bytes read so far.
	N int64
	// Err is the first error R returned other than io.EOF: the source's
	// failure, as opposed to the server's.
	Err error
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if err := r.Ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.R.Read(p)
	r.N += int64(n)
	if err != nil && err != io.EOF && r.Err == nil {
		r.Err = err
	}
	return n, err
}
