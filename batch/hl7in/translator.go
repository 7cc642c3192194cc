package hl7in

import (
	"fmt"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// messageMapper is what a mapping declared with `input: hl7v2`
// provides: the message mapped to a resource, (nil, nil) when the
// mapping's `when` is false.
type messageMapper interface {
	ReverseMessage(msg *hl7v2.Message) (*fhir.Value, error)
}

// MappingTranslator is the production Translator: a declarative mapping
// with `input: hl7v2` whose result is a transaction Bundle.
type MappingTranslator struct {
	name   string
	mapper messageMapper
	locate func(error) string
}

// NewMappingTranslator returns the Translator of m, which must be a
// mapping with `input: hl7v2`. locate derives the message location
// (e.g. "PID-7") of a mapping error for the ACK's ERR-2 ("" unknown);
// nil gives no location.
func NewMappingTranslator(m *mapping.Mapping, locate func(error) string) (*MappingTranslator, error) {
	mm, ok := any(m).(messageMapper)
	if !ok || m.Input() != "hl7v2" {
		return nil, fmt.Errorf("hl7in: mapping %s is not an HL7 v2 mapping (input: hl7v2)", m.Name())
	}
	return &MappingTranslator{name: m.Name(), mapper: mm, locate: locate}, nil
}

// Translate maps msg; an error is a *MappingError with the location
// locate gives.
func (t *MappingTranslator) Translate(msg *hl7v2.Message) (*fhir.Value, error) {
	b, err := t.mapper.ReverseMessage(msg)
	if err != nil {
		me := &MappingError{Err: fmt.Errorf("mapping %s: %w", t.name, err)}
		if t.locate != nil {
			me.Location = t.locate(err)
		}
		return nil, me
	}
	if b == nil {
		return nil, nil
	}
	if b.ResourceType() != "Bundle" || b.GetString("type") != "transaction" {
		return nil, &MappingError{Code: hl7v2.CodeInternal,
			Err: fmt.Errorf("mapping %s: the result is not a transaction Bundle", t.name)}
	}
	return b, nil
}

// Name is the mapping's name (e.g. "hl7v2/adt"), the mapping attribute of
// a message's span.
func (t *MappingTranslator) Name() string { return t.name }
