package mapjob

import (
	"context"
	"sync"
)

// unit is one input record: raw JSON text to decode (forward, NDJSON
// reverse) or an already parsed vendor record (CSV reverse).
type unit struct {
	line  int    // 1-based line where the record starts
	text  string // JSON text, when rec is nil
	rec   any    // a parsed record (reverse CSV) or nil
	err   error  // a read error for this record, reported as is
	where string // location override (else "line N")
}

// chunk is a batch of units mapped by one worker; out holds the encoded
// output records, errs the failures, both in input order.
type chunk struct {
	seq   int
	units []unit
	out   []byte
	errs  []*RecordError
	st    Stats
}

const chunkSize = 256

// pipeline runs produce (which emits chunks in input order) on this
// goroutine's helper, maps the chunks on opt.Workers goroutines with work,
// and writes them in order with sink. It stops early on a write error or
// cancellation and returns the summed stats.
func pipeline(ctx context.Context, opt Options, sink *sink, produce func(emit func(*chunk) bool) error, work func(*chunk)) (Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *chunk, opt.Workers*2)
	done := make(chan *chunk, opt.Workers*2)
	// the producer's error; read only once it has certainly finished
	prodErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		seq := 0
		prodErr <- produce(func(c *chunk) bool {
			c.seq = seq
			seq++
			select {
			case jobs <- c:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for i := 0; i < opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				work(c)
				select {
				case done <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	var st Stats
	var werr error
	pending := map[int]*chunk{}
	next := 0
	for c := range done {
		pending[c.seq] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if werr != nil {
				continue
			}
			st.Read += c.st.Read
			st.Written += c.st.Written
			st.Skipped += c.st.Skipped
			st.Failed += len(c.errs)
			for _, e := range c.errs {
				if opt.OnError != nil {
					opt.OnError(e)
				}
			}
			if err := sink.write(c.out); err != nil {
				werr = err
				cancel()
			}
		}
	}
	if werr != nil {
		return st, werr
	}
	if err := ctx.Err(); err != nil {
		// the producer may still be blocked in a read; it ends with it
		return st, err
	}
	// not cancelled: the workers stopped because jobs was closed, so the
	// producer has returned and its error is waiting
	return st, <-prodErr
}
