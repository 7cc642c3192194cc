package workbench

import (
	"errors"
	"fmt"
	"path"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// MaxMappingText bounds the edited mapping's text.
const MaxMappingText = 1 << 20

// Pair is a mapping as it is (Before) and as edited (After), compiled
// with the same parameters.
type Pair struct {
	// Source is where the mapping was found; the edited text is compiled
	// as if it were that file, so lookup CSVs resolve beside it.
	Source shipped.Source
	// Params are the run-time parameters both were compiled with.
	Params map[string]string
	// Before is the mapping as found; After is the edited text compiled.
	Before, After *mapping.Mapping
	// Edited is the edited text.
	Edited []byte
}

// ErrEdited wraps every error of the edited mapping's text; a
// *mapping.LoadError in the chain gives its line and column.
var ErrEdited = errors.New("edited mapping")

// Load compiles the mapping of src with params, and edited as the same
// file with the same params. An edited text that does not compile is an
// error wrapping ErrEdited and the loader's *mapping.LoadError (line and
// column of the edited text); one that changes the direction, source type
// or input kind is refused too, since the inputs are chosen by those.
func Load(src shipped.Source, params map[string]string, edited []byte) (*Pair, error) {
	before, err := src.Load(params)
	if err != nil {
		return nil, fmt.Errorf("loading mapping %s: %w", src.Path, err)
	}
	if len(edited) > MaxMappingText {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrEdited, len(edited), MaxMappingText)
	}
	after, err := mapping.Parse(src.File, edited, src.FS, path.Dir(src.File), params)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEdited, err)
	}
	switch {
	case after.Direction() != before.Direction():
		return nil, fmt.Errorf("%w: direction changed from %s to %s", ErrEdited, before.Direction(), after.Direction())
	case after.SourceType() != before.SourceType():
		return nil, fmt.Errorf("%w: source changed from %q to %q", ErrEdited, before.SourceType(), after.SourceType())
	case after.Input() != before.Input():
		return nil, fmt.Errorf("%w: input changed from %q to %q", ErrEdited, before.Input(), after.Input())
	}
	return &Pair{Source: src, Params: params, Before: before, After: after, Edited: edited}, nil
}
