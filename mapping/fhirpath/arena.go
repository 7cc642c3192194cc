package fhirpath

// Arena hands out the memory of result collections for a series of
// evaluations (see Env.Arena) and takes it all back at once with Reset.
// The zero value is ready to use. An Arena is not safe for concurrent use.
type Arena struct {
	slabs [][]Item
	cur   int // slab being carved
	off   int // next free item in slabs[cur]
}

const arenaSlab = 1024

// alloc returns a zero-length collection with capacity n; its capacity is
// capped so appends never reach a neighbour.
func (a *Arena) alloc(n int) Collection {
	for {
		if a.cur < len(a.slabs) {
			s := a.slabs[a.cur]
			if a.off+n <= len(s) {
				out := s[a.off : a.off : a.off+n]
				a.off += n
				return out
			}
			a.cur++
			a.off = 0
			continue
		}
		a.slabs = append(a.slabs, make([]Item, max(arenaSlab, n)))
	}
}

// Reset makes all the memory handed out reusable: collections returned by
// evaluations since the last Reset must no longer be used. It drops the
// references they held so the data they pointed at can be collected.
func (a *Arena) Reset() {
	for i := 0; i <= a.cur && i < len(a.slabs); i++ {
		end := len(a.slabs[i])
		if i == a.cur {
			end = a.off
		}
		clear(a.slabs[i][:end])
	}
	a.cur, a.off = 0, 0
}
