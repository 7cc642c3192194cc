package fhir

// Arena holds the memory of decoded Values so that a worker decoding many
// documents one after another reuses it instead of allocating anew (see
// DecodeOptions.Arena). Values decoded into an Arena are valid until its
// next Reset. The zero value is ready to use; an Arena is not safe for
// concurrent use.
type Arena struct {
	values  slabs[Value]
	members slabs[Member]
	items   slabs[*Value]
	// scratch stacks for the members and items of the objects and arrays
	// being read; copied out at exact size when each closes
	mstack []Member
	istack []*Value
	path   []pathStep
}

// Reset makes all the memory of the Arena reusable: Values decoded into it
// before must no longer be used.
func (a *Arena) Reset() {
	a.values.reset()
	a.members.reset()
	a.items.reset()
}

// slabs hands out slices carved from a list of large blocks.
type slabs[T any] struct {
	blocks [][]T
	cur    int
	off    int
}

// Blocks grow from minSlab to maxSlab elements, so that a one-off decode
// of a small resource stays small and a reused Arena soon stops growing.
const (
	minSlab = 32
	maxSlab = 4096
)

// take returns a slice of n zeroed elements.
func (s *slabs[T]) take(n int) []T {
	for {
		if s.cur < len(s.blocks) {
			b := s.blocks[s.cur]
			if s.off+n <= len(b) {
				out := b[s.off : s.off+n : s.off+n]
				s.off += n
				return out
			}
			s.cur++
			s.off = 0
			continue
		}
		size := minSlab << len(s.blocks)
		if size > maxSlab || size <= 0 {
			size = maxSlab
		}
		s.blocks = append(s.blocks, make([]T, max(size, n)))
	}
}

func (s *slabs[T]) reset() {
	for i := 0; i <= s.cur && i < len(s.blocks); i++ {
		end := len(s.blocks[i])
		if i == s.cur {
			end = s.off
		}
		clear(s.blocks[i][:end])
	}
	s.cur, s.off = 0, 0
}
