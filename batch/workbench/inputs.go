package workbench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// MaxPaste bounds a pasted input.
const MaxPaste = 1 << 20

// pasteDecode bounds the JSON values of a pasted input.
var pasteDecode = fhir.DecodeOptions{MaxElements: 200_000, MaxArray: 20_000}

// Input is one input of a run.
type Input struct {
	// Ref names the input by our ids only: "Appointment/a1/_history/3"
	// for a stored version, "pasted" or "pasted[2]" for pasted ones.
	Ref string
	// At is when a stored version was stored (zero for pasted input).
	At time.Time
	// Value is the FHIR resource, the vendor record, or (for an hl7v2
	// mapping) a String holding the message's ER7 text.
	Value *fhir.Value
	// Resolver resolves the references of a forward input, nil for none.
	Resolver fhir.Resolver
	// Bundle is the Bundle a pasted resource came in (%bundle), or nil.
	Bundle *fhir.Value
}

// Inputs produces the inputs of a run, calling yield for each in turn and
// stopping with yield's error when it returns one.
type Inputs func(ctx context.Context, yield func(Input) error) error

// StoreRange reads the stored versions of resource type typ stored in
// [since, until) (a zero until: no upper bound), newest first, in keyset
// pages of pageSize (100 when ≤ 0), skipping deletions. References resolve
// against the store's current resources, as a route's delivery does.
func StoreRange(st *store.Store, typ string, since, until time.Time, pageSize int) Inputs {
	if pageSize <= 0 {
		pageSize = 100
	}
	return func(ctx context.Context, yield func(Input) error) error {
		res := storeResolver(ctx, st)
		q := store.HistoryQuery{Type: typ, Since: since, Limit: pageSize}
		for {
			page, err := st.HistoryPage(ctx, q)
			if err != nil {
				return fmt.Errorf("reading stored %s versions: %w", typ, err)
			}
			for i := range page {
				v := page[i]
				if v.Deleted || !until.IsZero() && !v.At.Before(until) {
					continue
				}
				ref := typ + "/" + v.ID + "/_history/" + strconv.Itoa(v.Version.Version)
				val, err := fhir.Decode(v.Body, fhir.DecodeOptions{})
				if err != nil {
					return fmt.Errorf("decoding stored %s: %w", ref, err)
				}
				if err := yield(Input{Ref: ref, At: v.At, Value: val, Resolver: res}); err != nil {
					return err
				}
			}
			if len(page) < pageSize {
				return nil
			}
			q.After = &page[len(page)-1]
		}
	}
}

// storeResolver resolves "Type/id" references to the store's current
// resources; anything else (or a failed read) resolves to nothing.
func storeResolver(ctx context.Context, st *store.Store) fhir.Resolver {
	return fhir.ResolverFunc(func(ref string) *fhir.Value {
		typ, id := fhir.SplitReference(ref)
		if typ == "" || id == "" {
			return nil
		}
		body, _, err := st.GetResource(ctx, typ, id)
		if err != nil {
			return nil
		}
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil
		}
		return v
	})
}

// ErrPaste wraps every error about a pasted input.
var ErrPaste = errors.New("pasted input")

// Pasted parses a pasted input for mapping m: for a forward mapping a
// FHIR resource of its source type, or a Bundle whose entries of that
// type are each an input (references resolve within the Bundle); for a
// reverse json mapping one record object or a list of them; for a
// reverse csv mapping CSV text with a header line, one input per row; for
// an hl7v2 mapping the ER7 text of one message. Errors wrap ErrPaste and
// say what and where, never a value.
func Pasted(m *mapping.Mapping, body []byte) (Inputs, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrPaste)
	}
	if len(body) > MaxPaste {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrPaste, len(body), MaxPaste)
	}
	var ins []Input
	var err error
	switch {
	case m.Direction() == mapping.Forward:
		ins, err = pastedFHIR(m.SourceType(), body)
	case m.Input() == "hl7v2":
		ins = []Input{{Ref: "pasted", Value: fhir.NewString(string(body))}}
	case m.Input() == "csv":
		ins, err = pastedCSV(m, body)
	default:
		ins, err = pastedRecords(body)
	}
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("%w: nothing the mapping reads", ErrPaste)
	}
	return func(ctx context.Context, yield func(Input) error) error {
		for _, in := range ins {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := yield(in); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func pastedFHIR(source string, body []byte) ([]Input, error) {
	v, err := fhir.Decode(body, pasteDecode)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPaste, err)
	}
	rt := v.ResourceType()
	if v.Kind != fhir.Object || rt == "" {
		return nil, fmt.Errorf("%w: not a FHIR resource (no resourceType)", ErrPaste)
	}
	if rt == source {
		return []Input{{Ref: "pasted", Value: v}}, nil
	}
	if rt != "Bundle" {
		return nil, fmt.Errorf("%w: a %s; the mapping reads %s (or a Bundle of them)", ErrPaste, safeName(rt), source)
	}
	b, err := fhir.ParseBundle(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPaste, err)
	}
	var out []Input
	for i, e := range b.Entries {
		if e.Resource != nil && e.Resource.ResourceType() == source {
			out = append(out, Input{Ref: "pasted entry[" + strconv.Itoa(i) + "]", Value: e.Resource, Resolver: b.ResolverFor(i), Bundle: v})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the Bundle has no %s entry", ErrPaste, source)
	}
	return out, nil
}

// safeName returns s for messages when it is an R4 resource type (a
// pasted resourceType may be anything), else "resource".
func safeName(s string) string {
	if !fhirpath.R4Known(s) {
		return "resource"
	}
	return s
}

func pastedRecords(body []byte) ([]Input, error) {
	v, err := fhir.Decode(body, pasteDecode)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPaste, err)
	}
	switch v.Kind {
	case fhir.Object:
		return []Input{{Ref: "pasted", Value: v}}, nil
	case fhir.Array:
		out := make([]Input, 0, len(v.Items))
		for i, it := range v.Items {
			if it.Kind != fhir.Object {
				return nil, fmt.Errorf("%w: item [%d] is a %s, not a record object", ErrPaste, i, it.Kind)
			}
			out = append(out, Input{Ref: "pasted[" + strconv.Itoa(i) + "]", Value: it})
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: a %s, not a record object or a list of them", ErrPaste, v.Kind)
}

// maxCSVRows bounds the rows of a pasted CSV.
const maxCSVRows = 20_000

func pastedCSV(m *mapping.Mapping, body []byte) ([]Input, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = 0
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: CSV header: %w", ErrPaste, csvErr(err))
	}
	if err := m.CheckHeader(header); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPaste, err)
	}
	var out []Input
	for row := 2; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: CSV: %w", ErrPaste, csvErr(err))
		}
		if len(out) == maxCSVRows {
			return nil, fmt.Errorf("%w: more than %d CSV rows", ErrPaste, maxCSVRows)
		}
		o := fhir.NewObject()
		for i, h := range header {
			o.Set(h, fhir.NewString(rec[i]))
		}
		out = append(out, Input{Ref: "pasted row " + strconv.Itoa(row), Value: o})
	}
	return out, nil
}

// csvErr keeps only the position and kind of a CSV parse error (its text
// never quotes the data, but its line number is ours to give).
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d column %d: %w", pe.Line, pe.Column, pe.Err)
	}
	return err
}
