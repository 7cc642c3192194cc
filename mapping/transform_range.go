package mapping

import (
	"errors"
	"strconv"

	"github.com/goccy/go-yaml/ast"

	"github.com/fhirbridge/fhirbridge/fhir"
)

var errOutOfRange = errors.New("value is outside the allowed range")

func init() {
	register("range", argRequired, newRange)
}

// rangeStep refuses numbers outside [min, max] (either bound optional),
// e.g. Solo's appointment duration, which must lie in [1, 86400] seconds.
type rangeStep struct {
	min, max       float64
	hasMin, hasMax bool
}

func newRange(c *compiler, n ast.Node) (step, error) {
	var r rangeStep
	bound := func(dst *float64, has *bool, what string) func(ast.Node) error {
		return func(v ast.Node) error {
			s, err := c.scalarText(v, what)
			if err != nil {
				return err
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return c.errAt(v, "range "+what+" must be a number")
			}
			*dst, *has = f, true
			return nil
		}
	}
	if err := c.argObject("range", n, map[string]func(ast.Node) error{
		"min": bound(&r.min, &r.hasMin, "min"),
		"max": bound(&r.max, &r.hasMax, "max"),
	}); err != nil {
		return nil, err
	}
	switch {
	case !r.hasMin && !r.hasMax:
		return nil, c.errAt(n, "range needs min, max or both")
	case r.hasMin && r.hasMax && r.min > r.max:
		return nil, c.errAt(n, "range min is greater than max")
	}
	return r, nil
}

func (r rangeStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	for _, v := range in {
		if v.Kind != fhir.Number && v.Kind != fhir.String {
			return nil, errNotNumber
		}
		f, err := strconv.ParseFloat(v.Str, 64)
		if err != nil {
			return nil, errNotNumber
		}
		if r.hasMin && f < r.min || r.hasMax && f > r.max {
			return nil, errOutOfRange
		}
	}
	return in, nil
}
