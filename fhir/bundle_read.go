package fhir

import (
	"fmt"
	"strconv"
	"strings"
)

// readBundle yields every entry of a decoded Bundle; see Read.
func readBundle(v *Value, opt ReadOptions, fn func(Entry) error) error {
	b, err := ParseBundle(v)
	if err != nil {
		return fmt.Errorf("reading bundle: %w", err)
	}
	bad := map[int]*OperationOutcome{}
	if opt.Strict {
		whole, perEntry := Validate(v, "").ByEntry()
		bad = perEntry
		if whole != nil {
			if err := report(opt, -1, "Bundle", whole); err != nil {
				return err
			}
		}
		if b.Type == "transaction" && (whole != nil || len(perEntry) > 0) {
			for i := range b.Entries {
				if oo := perEntry[i]; oo != nil {
					if err := report(opt, i, b.Entries[i].Path()+".resource", oo); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	for i := range b.Entries {
		be := &b.Entries[i]
		path := be.Path() + ".resource"
		if oo := bad[i]; oo != nil {
			if err := report(opt, i, path, oo); err != nil {
				return err
			}
			continue
		}
		if be.Value == nil || be.Value.Kind != Object {
			oo := (*OperationOutcome)(nil).Add(CodeStructure, be.Path(), "a Bundle entry must be a JSON object")
			if err := report(opt, i, be.Path(), oo); err != nil {
				return err
			}
			continue
		}
		e := Entry{FullURL: be.FullURL, Method: be.Method, URL: be.URL, Index: i, Path: path, Resolver: b.ResolverFor(i), Bundle: b}
		if be.Resource != nil {
			if err := checkResource(be.Resource, false, path); err != nil {
				if err := report(opt, i, path, err); err != nil {
					return err
				}
				continue
			}
			e.Resource, e.ResourceType, e.ID = be.Resource, be.Resource.ResourceType(), be.Resource.GetString("id")
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// ByEntry sorts the issues of a Bundle's outcome into those of the Bundle
// itself and those of each top-level entry (by the "Bundle.entry[N]" that
// starts an issue's first expression). It is nil-safe.
func (oo *OperationOutcome) ByEntry() (whole *OperationOutcome, perEntry map[int]*OperationOutcome) {
	perEntry = map[int]*OperationOutcome{}
	if oo == nil {
		return nil, perEntry
	}
	for _, is := range oo.Issues {
		i := -1
		if len(is.Expression) > 0 {
			i = entryIndex(is.Expression[0])
		}
		one := &OperationOutcome{Issues: []Issue{is}}
		if i < 0 {
			whole = whole.Merge(one)
		} else {
			perEntry[i] = perEntry[i].Merge(one)
		}
	}
	return whole, perEntry
}

// entryIndex returns N of a path starting "Bundle.entry[N]", or -1.
func entryIndex(path string) int {
	rest, ok := strings.CutPrefix(path, "Bundle.entry[")
	if !ok {
		return -1
	}
	j := strings.IndexByte(rest, ']')
	if j < 0 {
		return -1
	}
	n, err := strconv.Atoi(rest[:j])
	if err != nil {
		return -1
	}
	return n
}
