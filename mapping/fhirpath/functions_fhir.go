package fhirpath

import (
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// allChildren appends every child element of it.
func allChildren(out Collection, it Item) Collection {
	v := it.n
	if v == nil || v.Kind != fhir.Object {
		return out
	}
	for i := range v.Members {
		m := &v.Members[i]
		if m.Key == "resourceType" || (len(m.Key) > 0 && m.Key[0] == '_') {
			continue
		}
		out = appendValue(out, v, m, "")
	}
	return out
}

func init() {
	register("children", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		var out Collection
		for _, it := range in {
			out = allChildren(out, it)
		}
		return out, nil
	})
	register("descendants", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		var out Collection
		next := in
		for depth := 0; len(next) > 0; depth++ {
			if depth > maxDepth {
				return nil, evalError("descendants() nests too deeply")
			}
			var level Collection
			for _, it := range next {
				level = allChildren(level, it)
			}
			out = append(out, level...)
			next = level
		}
		return out, nil
	})
	register("extension", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		url, ok, err := strArg(c, cl, 0, outer)
		if err != nil || !ok {
			return nil, err
		}
		var out Collection
		for _, it := range in {
			for _, e := range children(nil, it, "extension") {
				if e.n.GetString("url") == url {
					out = append(out, e)
				}
			}
		}
		return out, nil
	})
	register("resolve", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		var out Collection
		for _, it := range in {
			ref := ""
			if it.n != nil && it.n.Kind == fhir.Object {
				ref = it.n.GetString("reference")
			} else if s, ok := it.AsString(); ok {
				ref = s
			}
			if ref == "" {
				continue
			}
			if ref[0] == '#' {
				if r := containedByID(c, ref[1:]); r != nil {
					out = append(out, ItemOf(r))
				}
				continue
			}
			if c.env.Resolver != nil {
				if r := c.env.Resolver.Resolve(ref); r != nil {
					out = append(out, ItemOf(r))
				}
			}
		}
		return out, nil
	})
	register("now", 0, 0, func(c *ctx, _, _ Collection, _ *call) (Collection, error) {
		return c.one(Item{k: kDateTime, s: time.Now().Format("2006-01-02T15:04:05.000-07:00")}), nil
	})
	register("today", 0, 0, func(c *ctx, _, _ Collection, _ *call) (Collection, error) {
		return c.one(Item{k: kDate, s: time.Now().Format("2006-01-02")}), nil
	})
	register("timeOfDay", 0, 0, func(c *ctx, _, _ Collection, _ *call) (Collection, error) {
		return c.one(Item{k: kTime, s: time.Now().Format("15:04:05.000")}), nil
	})
}

// containedByID finds a contained resource of %resource by id.
func containedByID(c *ctx, id string) *fhir.Value {
	res := c.env.Resource
	if res == nil && len(c.context) > 0 {
		res = c.context[0].n
	}
	cont := res.Get("contained")
	if cont == nil {
		return nil
	}
	for _, r := range cont.Items {
		if r.GetString("id") == id {
			return r
		}
	}
	return nil
}
