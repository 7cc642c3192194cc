package fhir

import (
	"strings"
)

var bundleTypes = map[string]bool{
	"document": true, "message": true, "transaction": true, "transaction-response": true,
	"batch": true, "batch-response": true, "history": true, "searchset": true, "collection": true,
}

var httpVerbs = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true}

// validateBundle checks a Bundle: its own elements (google/fhir, with the
// entry resources left out), its structure rules, and every entry
// resource on its own with paths "Bundle.entry[i].resource.<Type>…".
func validateBundle(v *Value, path string) *OperationOutcome {
	root := joinPath(path, "Bundle")
	b, err := ParseBundle(v)
	if err != nil {
		return (*OperationOutcome)(nil).Add(CodeStructure, root, "not a Bundle")
	}
	oo := validateResource(bundleShell(v), path)
	oo = oo.Merge(bundleStructure(b, root))
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Resource == nil {
			continue
		}
		oo = oo.Merge(Validate(e.Resource, joinPath(path, e.Path()+".resource")))
	}
	return dedupe(oo)
}

// dedupe drops issues equal to an earlier one (google/fhir and the Bundle
// rules both report a missing Bundle.type, for instance).
func dedupe(oo *OperationOutcome) *OperationOutcome {
	if oo == nil {
		return nil
	}
	seen := map[string]bool{}
	out := oo.Issues[:0]
	for _, is := range oo.Issues {
		key := is.Code + "\x00" + strings.Join(is.Expression, ",") + "\x00" + is.Diagnostics
		if !seen[key] {
			seen[key] = true
			out = append(out, is)
		}
	}
	oo.Issues = out
	return oo
}

// bundleShell returns a copy of the Bundle whose entries lack "resource".
func bundleShell(v *Value) *Value {
	c := &Value{Kind: Object}
	for _, m := range v.Members {
		if m.Key != "entry" || m.Value == nil || m.Value.Kind != Array {
			c.Members = append(c.Members, m)
			continue
		}
		arr := &Value{Kind: Array, Items: make([]*Value, len(m.Value.Items))}
		for i, it := range m.Value.Items {
			if it == nil || it.Kind != Object {
				arr.Items[i] = it
				continue
			}
			e := &Value{Kind: Object}
			for _, em := range it.Members {
				if em.Key != "resource" {
					e.Members = append(e.Members, em)
				}
			}
			arr.Items[i] = e
		}
		c.Members = append(c.Members, Member{Key: "entry", Value: arr})
	}
	return c
}

// bundleStructure checks the Bundle rules google/fhir does not: type,
// entry resources and requests, fullUrl uniqueness (bdl-7) and urn:uuid
// references that point nowhere in the Bundle.
func bundleStructure(b *Bundle, root string) *OperationOutcome {
	var oo *OperationOutcome
	switch t := b.Value.Get("type"); {
	case t == nil:
		oo = oo.Add(CodeRequired, root+".type", "required element is missing")
	case t.Kind != String || !bundleTypes[t.Str]:
		oo = oo.Add(CodeValue, root+".type", "code not in the required value set")
	}
	if ev := b.Value.Get("entry"); ev != nil && ev.Kind != Array {
		oo = oo.Add(CodeStructure, root+".entry", "expected an array")
	}
	needsRequest := b.Type == "transaction" || b.Type == "batch"
	seen := map[string]string{} // fullUrl + versionId → first entry path
	for i := range b.Entries {
		e := &b.Entries[i]
		p := strings.Replace(e.Path(), "Bundle", root, 1)
		if e.Value == nil || e.Value.Kind != Object {
			oo = oo.Add(CodeStructure, p, "a Bundle entry must be a JSON object")
			continue
		}
		if r := e.Value.Get("resource"); r != nil && r.Kind != Object {
			oo = oo.Add(CodeStructure, p+".resource", "a resource must be a JSON object")
		}
		if needsRequest {
			if !httpVerbs[e.Method] {
				oo = oo.Add(CodeRequired, p+".request.method", "transaction and batch entries need a valid request.method")
			}
			if e.URL == "" {
				oo = oo.Add(CodeRequired, p+".request.url", "transaction and batch entries need request.url")
			}
		}
		if e.Resource == nil && resourceRequired(b.Type, e.Method) {
			oo = oo.Add(CodeRequired, p+".resource", "this Bundle entry needs a resource")
		}
		if e.FullURL != "" && e.Resource != nil && b.Type != "history" {
			key := e.FullURL + "\x00" + e.Resource.Get("meta").GetString("versionId")
			if _, dup := seen[key]; dup {
				oo = oo.Add(CodeInvalid, p+".fullUrl", "fullUrl is not unique in the Bundle")
			} else {
				seen[key] = p
			}
		}
		if e.Resource != nil {
			checkRefs(b, e.Resource, p+".resource", &oo)
		}
	}
	return oo
}

// resourceRequired reports whether entries of a Bundle type and request
// method must carry a resource.
func resourceRequired(typ, method string) bool {
	switch typ {
	case "document", "message", "collection", "searchset":
		return true
	case "transaction", "batch":
		return method == "POST" || method == "PUT"
	}
	return false
}

// checkRefs reports every "reference" string under v that names a
// urn:uuid or urn:oid the Bundle does not hold.
func checkRefs(b *Bundle, v *Value, path string, oo **OperationOutcome) {
	if v == nil {
		return
	}
	switch v.Kind {
	case Object:
		for _, m := range v.Members {
			p := path + "." + elementName(m.Key)
			if m.Key == "reference" && m.Value != nil && m.Value.Kind == String {
				ref := m.Value.Str
				if (strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:")) && b.find("", ref) < 0 {
					*oo = (*oo).Add(CodeNotFound, p, "unresolved reference")
				}
				continue
			}
			checkRefs(b, m.Value, p, oo)
		}
	case Array:
		for i, it := range v.Items {
			checkRefs(b, it, string(Path(path).Index(i)), oo)
		}
	}
}
