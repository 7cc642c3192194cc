package report

import (
	"hash/maphash"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// recent remembers the last n Patients written (id → hash of content), so
// a Patient repeated on later rows — the same id and the same content —
// is written once. Memory is bounded by n; a changed Patient is written.
type recent struct {
	n    int
	seed maphash.Seed
	m    map[string]uint64
	ring []string
	next int
}

func newRecent(n int) *recent {
	if n == 0 {
		n = 1 << 16
	}
	if n < 0 {
		return nil
	}
	return &recent{n: n, seed: maphash.MakeSeed(), m: make(map[string]uint64, n), ring: make([]string, n)}
}

// seen reports whether r repeats a remembered Patient, remembering it.
func (c *recent) seen(r *fhir.Value) bool {
	if c == nil {
		return false
	}
	id := r.GetString("id")
	h := maphash.Bytes(c.seed, r.JSON())
	if old, ok := c.m[id]; ok {
		if old == h {
			return true
		}
		c.m[id] = h
		return false
	}
	if evict := c.ring[c.next]; evict != "" {
		delete(c.m, evict)
	}
	c.ring[c.next] = id
	c.next = (c.next + 1) % c.n
	c.m[id] = h
	return false
}
