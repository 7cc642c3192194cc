package ehr

import (
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// OwnedPrefixes mark the identifier systems and extension urls the bridge
// adds to resources: an identifier or extension whose system or url starts
// with one of them belongs to the flow, every other one to the EHR.
var OwnedPrefixes = []string{"urn:fhirbridge:", "https://fhirbridge.dev/"}

// Ownership says which parts of a resource of one type the write-back
// flows own, and so may change in the EHR's copy.
type Ownership struct {
	// Elements are top-level elements the flow owns: the EHR's copy gets
	// the flow's value, or loses the element when the flow's version has
	// none.
	Elements []string
	// Keyed are list elements shared with the EHR, each with the member
	// that says whose an entry is (identifier → system, extension → url):
	// entries whose key starts with one of OwnedPrefixes are the flow's
	// (replaced by the flow's own such entries), the others the EHR's
	// (kept as the EHR has them).
	Keyed map[string]string
	// Present, when set, makes every top-level element the flow's version
	// holds owned (id, resourceType and meta excepted): for resources the
	// bridge creates. Elements only the EHR's copy holds are kept.
	Present bool
}

// shared are the list elements every resource shares with the EHR.
var shared = map[string]string{"identifier": "system", "extension": "url"}

// Owned is the ownership table, by resource type. Types absent here are
// resources the bridge creates (a Solo visit's Encounter "solo-visit-…",
// visit notes as QuestionnaireResponse and Communication, assistance
// Tasks) and use DefaultOwnership.
//
// Appointment is the EHR's: the flows (tuOtempO cancellations, the Solo
// status) change only its status and cancelationReason, and add their
// own identifiers and extensions (the Solo status word, the inbound
// provenance note). Appointment.comment, participants, times and every
// extension of the EHR's stay as the EHR has them.
var Owned = map[string]Ownership{
	"Appointment": {Elements: []string{"status", "cancelationReason"}, Keyed: shared},
}

// DefaultOwnership is the ownership of types absent from Owned.
var DefaultOwnership = Ownership{Present: true}

// ownershipOf returns the ownership of resource type typ.
func ownershipOf(typ string) Ownership {
	if o, ok := Owned[typ]; ok {
		return o
	}
	return DefaultOwnership
}

// Merge returns the EHR's current copy cur with the parts the flow owns
// (ownership of ours' type) taken from ours, the flow's version. Neither
// is changed. Member order follows cur; elements only ours holds are
// appended in ours' order.
func Merge(cur, ours *fhir.Value) *fhir.Value {
	if cur == nil || cur.Kind != fhir.Object || ours == nil || ours.Kind != fhir.Object {
		return ours
	}
	o := ownershipOf(ours.ResourceType())
	owned := func(key string) bool {
		switch key {
		case "resourceType", "id", "meta":
			return false
		}
		if _, ok := o.Keyed[key]; ok {
			return false
		}
		if o.Present && ours.Get(key) != nil {
			return true
		}
		for _, e := range o.Elements {
			if e == key {
				return true
			}
		}
		return false
	}
	out := fhir.NewObject()
	done := map[string]bool{}
	for _, m := range cur.Members {
		done[m.Key] = true
		switch {
		case owned(m.Key):
			if v := ours.Get(m.Key); v != nil {
				out.Members = append(out.Members, fhir.Member{Key: m.Key, Value: v})
			}
		case o.Keyed[m.Key] != "":
			if v := mergeKeyed(m.Value, ours.Get(m.Key), o.Keyed[m.Key]); v != nil {
				out.Members = append(out.Members, fhir.Member{Key: m.Key, Value: v})
			}
		default:
			out.Members = append(out.Members, m)
		}
	}
	for _, m := range ours.Members {
		if done[m.Key] {
			continue
		}
		switch {
		case owned(m.Key):
			out.Members = append(out.Members, m)
		case o.Keyed[m.Key] != "":
			if v := mergeKeyed(nil, m.Value, o.Keyed[m.Key]); v != nil {
				out.Members = append(out.Members, fhir.Member{Key: m.Key, Value: v})
			}
		}
	}
	return out
}

// mergeKeyed returns the EHR's entries of a shared list whose key is not
// ours, then ours' entries whose key is; nil when none is left.
func mergeKeyed(cur, ours *fhir.Value, key string) *fhir.Value {
	var items []*fhir.Value
	if cur != nil && cur.Kind == fhir.Array {
		for _, it := range cur.Items {
			if !bridgeOwned(it.GetString(key)) {
				items = append(items, it)
			}
		}
	} else if cur != nil {
		items = append(items, cur) // not a list: the EHR's, kept
	}
	if ours != nil && ours.Kind == fhir.Array {
		for _, it := range ours.Items {
			if bridgeOwned(it.GetString(key)) {
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		return nil
	}
	return fhir.NewArray(items...)
}

// bridgeOwned reports a system or url the bridge adds.
func bridgeOwned(s string) bool {
	for _, p := range OwnedPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Same reports whether a and b are the same JSON value, the member order
// of objects aside (servers reorder members).
func Same(a, b *fhir.Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case fhir.Object:
		if len(a.Members) != len(b.Members) {
			return false
		}
		for _, m := range a.Members {
			if !Same(m.Value, b.Get(m.Key)) {
				return false
			}
		}
		return true
	case fhir.Array:
		if len(a.Items) != len(b.Items) {
			return false
		}
		for i := range a.Items {
			if !Same(a.Items[i], b.Items[i]) {
				return false
			}
		}
		return true
	}
	return a.Str == b.Str
}
