package workbench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// Input caps of a run.
const (
	// DefaultMaxInputs is the cap on inputs when Options.MaxInputs is 0.
	DefaultMaxInputs = 1000
	// HardMaxInputs is the largest cap a run accepts.
	HardMaxInputs = 100_000
)

// Options tune a run.
type Options struct {
	// MaxInputs caps the inputs read (DefaultMaxInputs when 0, at most
	// HardMaxInputs); reaching it ends the run with Summary.Capped set.
	MaxInputs int
	// OnResult, when set, receives each input's Result as soon as it is
	// known, in order; an error from it ends the run with that error.
	OnResult func(Result) error
}

// Outcome classifies one input's pair of runs.
type Outcome string

// The outcomes of one input.
const (
	Same      Outcome = "same"       // both succeeded with equal outputs
	Changed   Outcome = "changed"    // both succeeded, outputs differ
	NewError  Outcome = "new-error"  // fails only after the edit
	Fixed     Outcome = "fixed"      // failed before the edit, succeeds after
	BothError Outcome = "both-error" // fails before and after
)

// Result is what the two versions of the mapping did with one input.
type Result struct {
	// N numbers the inputs of the run from 1.
	N int
	// Input is the input; its Value holds patient data.
	Input Input
	// Before and After are the outputs of each version (records in
	// order; nil on error). They hold patient data.
	Before, After []*fhir.Value
	// BeforeErr and AfterErr are the errors of each version, if any; the
	// mapping's errors name fields and expressions, never values.
	BeforeErr, AfterErr error
	// Changes lists the field-level differences of the outputs (empty
	// unless both succeeded).
	Changes []Change
	// Outcome classifies the result.
	Outcome Outcome
}

// Summary totals a run.
type Summary struct {
	Inputs    int // inputs run
	Same      int // equal outputs
	Changed   int // outputs differ
	NewErrors int // failing only after the edit
	Fixed     int // failing only before the edit
	BothError int // failing both before and after
	// Capped is true when the run stopped at its cap on inputs.
	Capped bool
	// Fields counts, per changed field (its Field form), the inputs in
	// which it changed.
	Fields map[string]int
	// Errors counts the edited mapping's errors of NewError results by
	// their text (which names fields, never values).
	Errors map[string]int
}

// Add counts r in s.
func (s *Summary) Add(r Result) {
	s.Inputs++
	switch r.Outcome {
	case Same:
		s.Same++
	case Changed:
		s.Changed++
	case NewError:
		s.NewErrors++
		if s.Errors == nil {
			s.Errors = map[string]int{}
		}
		s.Errors[r.AfterErr.Error()]++
	case Fixed:
		s.Fixed++
	case BothError:
		s.BothError++
	}
	seen := map[string]bool{}
	for _, c := range r.Changes {
		f := c.Field()
		if !seen[f] {
			seen[f] = true
			if s.Fields == nil {
				s.Fields = map[string]int{}
			}
			s.Fields[f]++
		}
	}
}

// FieldCount is one changed field and the inputs in which it changed.
type FieldCount struct {
	Field  string
	Inputs int
}

// TopFields lists s.Fields, most often changed first (ties by name).
func (s *Summary) TopFields() []FieldCount {
	out := make([]FieldCount, 0, len(s.Fields))
	for f, n := range s.Fields {
		out = append(out, FieldCount{f, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Inputs != out[j].Inputs {
			return out[i].Inputs > out[j].Inputs
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// errCapped stops the input stream at the cap.
var errCapped = errors.New("input cap reached")

// Run maps each input of in with both versions of p and returns the
// summary. It stops at the cap (Summary.Capped), at the first error of
// in or of opt.OnResult, or when ctx is done; the summary of the inputs
// run so far is returned with that error.
func Run(ctx context.Context, p *Pair, in Inputs, opt Options) (Summary, error) {
	limit := opt.MaxInputs
	if limit <= 0 {
		limit = DefaultMaxInputs
	}
	if limit > HardMaxInputs {
		return Summary{}, fmt.Errorf("a run reads at most %d inputs, not %d", HardMaxInputs, limit)
	}
	var s Summary
	err := in(ctx, func(x Input) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.Inputs == limit {
			return errCapped
		}
		r := Compare(p, x)
		r.N = s.Inputs + 1
		s.Add(r)
		if opt.OnResult != nil {
			return opt.OnResult(r)
		}
		return nil
	})
	if errors.Is(err, errCapped) {
		s.Capped, err = true, nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return s, err
}

// Compare runs both versions of p on one input.
func Compare(p *Pair, x Input) Result {
	r := Result{Input: x}
	r.Before, r.BeforeErr = Apply(p.Before, x)
	r.After, r.AfterErr = Apply(p.After, x)
	switch {
	case r.BeforeErr != nil && r.AfterErr != nil:
		r.Outcome = BothError
	case r.AfterErr != nil:
		r.Outcome = NewError
	case r.BeforeErr != nil:
		r.Outcome = Fixed
	default:
		r.Changes = Diff(fhir.NewArray(r.Before...), fhir.NewArray(r.After...))
		r.Outcome = Same
		if len(r.Changes) > 0 {
			r.Outcome = Changed
		}
	}
	return r
}

// errPanic reports a mapping that panicked on an input.
var errPanic = errors.New("the mapping failed unexpectedly on this input")

// Apply maps one input with m as the delivery path does: a forward
// mapping gives its records (none when its `when` excludes the input), a
// reverse one its resource. An hl7v2 input's ER7 text may separate
// segments with CR, LF or CRLF.
func Apply(m *mapping.Mapping, x Input) (out []*fhir.Value, err error) {
	defer func() {
		if recover() != nil {
			out, err = nil, fmt.Errorf("mapping %s: %w", m.Name(), errPanic)
		}
	}()
	if m.Direction() == mapping.Forward {
		return m.ApplyAll(x.Value, x.Resolver, x.Bundle)
	}
	var v *fhir.Value
	if m.Input() == "hl7v2" {
		if x.Value == nil || x.Value.Kind != fhir.String {
			return nil, errors.New("an hl7v2 mapping's input is the ER7 text of a message")
		}
		msg, perr := hl7v2.Parse([]byte(er7(x.Value.Str)))
		if perr != nil {
			return nil, fmt.Errorf("parsing the HL7 v2 message: %w", perr)
		}
		v, err = m.ReverseMessage(msg)
	} else {
		v, err = m.Reverse(x.Value)
	}
	if err != nil || v == nil {
		return nil, err
	}
	return []*fhir.Value{v}, nil
}

// er7 makes CR the segment terminator of text.
func er7(text string) string {
	return strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\r"), "\n", "\r")
}
