package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"html"
	"slices"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

var (
	htmlEscaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	jsonUnescaper = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\/`, "/", `\n`, "\n", `\r`, "\r", `\t`, "\t")
)

func init() {
	register("comparable", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		it, ok, err := singleton(in, "comparable()")
		if err != nil || !ok {
			return nil, err
		}
		o, ok, err := cl.argItem(c, 0, outer)
		if err != nil || !ok {
			return nil, err
		}
		a := it.prim()
		if a.k != kQty || o.k != kQty {
			return nil, evalError("comparable() expects quantities")
		}
		_, da := qtyNorm(a)
		_, db := qtyNorm(o)
		return boolColl(da == db), nil
	})
	strFn("matchesFull", 1, func(c *ctx, s string, a []string) (Collection, error) {
		r, err := compileRegex("^(?:" + a[0] + ")$")
		if err != nil {
			return nil, err
		}
		return boolColl(r.MatchString(s)), nil
	})
	strFn("encode", 1, func(c *ctx, s string, a []string) (Collection, error) {
		switch a[0] {
		case "base64":
			return c.one(String(base64.StdEncoding.EncodeToString([]byte(s)))), nil
		case "urlbase64":
			return c.one(String(base64.URLEncoding.EncodeToString([]byte(s)))), nil
		case "hex":
			return c.one(String(hex.EncodeToString([]byte(s)))), nil
		}
		return nil, evalError("encode() supports base64, urlbase64 and hex")
	})
	strFn("decode", 1, func(c *ctx, s string, a []string) (Collection, error) {
		var b []byte
		var err error
		switch a[0] {
		case "base64":
			b, err = base64.StdEncoding.DecodeString(s)
		case "urlbase64":
			b, err = base64.URLEncoding.DecodeString(s)
		case "hex":
			b, err = hex.DecodeString(s)
		default:
			return nil, evalError("decode() supports base64, urlbase64 and hex")
		}
		if err != nil {
			return nil, nil
		}
		return c.one(String(string(b))), nil
	})
	strFn("escape", 1, func(c *ctx, s string, a []string) (Collection, error) {
		switch a[0] {
		case "html":
			return c.one(String(htmlEscaper.Replace(s))), nil
		case "json":
			q := string(fhir.AppendQuoted(nil, s))
			return c.one(String(q[1 : len(q)-1])), nil
		}
		return nil, evalError("escape() supports html and json")
	})
	strFn("unescape", 1, func(c *ctx, s string, a []string) (Collection, error) {
		switch a[0] {
		case "html":
			return c.one(String(html.UnescapeString(s))), nil
		case "json":
			return c.one(String(jsonUnescaper.Replace(s))), nil
		}
		return nil, evalError("unescape() supports html and json")
	})
	register("type", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		out := make(Collection, 0, len(in))
		for _, it := range in {
			ns, name, ok := strings.Cut(it.TypeName(), ".")
			if !ok {
				ns, name = "FHIR", ns
			}
			o := fhir.NewObject()
			o.Set("namespace", fhir.NewString(ns))
			o.Set("name", fhir.NewString(name))
			out = append(out, Item{n: o, typ: "TypeInfo", idx: -1})
		}
		return out, nil
	})
	register("precision", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		it, ok, err := singleton(in, "precision()")
		if err != nil || !ok {
			return nil, err
		}
		p := it.prim()
		switch p.k {
		case kDec, kInt:
			return c.one(Integer(int64(decimals(p)))), nil
		case kDate, kDateTime, kTime:
			s := strings.TrimRight(p.s, "Z")
			if i := strings.IndexAny(s[min(len(s), 10):], "+-"); i >= 0 {
				s = s[:min(len(s), 10)+i]
			}
			n := 0
			for i := 0; i < len(s); i++ {
				if s[i] >= '0' && s[i] <= '9' {
					n++
				}
			}
			return c.one(Integer(int64(n))), nil
		}
		return nil, evalError("precision() expects a decimal or date/time")
	})
	register("sort", 0, 8, func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		type keyed struct {
			it   Item
			keys []Collection
		}
		ks := make([]keyed, len(in))
		for i := range in {
			ks[i].it = in[i]
		}
		for a := range cl.args {
			err := cl.iterate(c, a, in, func(j int, res Collection) (bool, error) {
				ks[j].keys = append(ks[j].keys, res)
				return true, nil
			})
			if err != nil {
				return nil, err
			}
		}
		var sortErr error
		slices.SortStableFunc(ks, func(x, y keyed) int {
			if len(cl.args) == 0 {
				n, _, err := compareItems(x.it, y.it)
				if err != nil {
					sortErr = err
				}
				return n
			}
			for a := range cl.args {
				xa, ya := x.keys[a], y.keys[a]
				if len(xa) == 0 || len(ya) == 0 {
					if n := len(xa) - len(ya); n != 0 {
						return n
					}
					continue
				}
				n, _, err := compareItems(xa[0], ya[0])
				if err != nil {
					sortErr = err
				}
				if cl.desc[a] {
					n = -n
				}
				if n != 0 {
					return n
				}
			}
			return 0
		})
		out := make(Collection, len(ks))
		for i := range ks {
			out[i] = ks[i].it
		}
		return out, sortErr
	})
}
