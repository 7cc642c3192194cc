package mapping

import (
	"errors"
	"strings"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// V2Location returns the HL7 v2 location an error of an `input: hl7v2`
// mapping is about, as a path such as "PID-7" or "NTE[2]-3[1].1", for the
// ERR-2 of an acknowledgment; "" when unknown. A located error of the
// message itself (a bad escape sequence) gives its own location;
// otherwise it is the first segment path of a v2('…') or v2reps('…')
// call in the failing field's expression (*FieldError.Expr). A component
// path read from a repetition ('4.1') locates nothing by itself.
func V2Location(err error) string {
	var he *hl7v2.Error
	if errors.As(err, &he) && he.Loc.Segment != "" {
		return he.Loc.String()
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return ""
	}
	return firstV2Path(fe.Expr)
}

// firstV2Path finds the first v2('SEG…') or v2reps('SEG…') path in an
// expression's text.
func firstV2Path(expr string) string {
	for rest := expr; ; {
		i := strings.Index(rest, "v2")
		if i < 0 {
			return ""
		}
		// not the tail of a longer name (e.g. myv2)
		word := i == 0 || !identChar(rest[i-1])
		rest = rest[i+2:]
		if !word {
			continue
		}
		args, ok := strings.CutPrefix(rest, "reps")
		if !ok {
			args = rest
		}
		if len(args) < 2 || args[0] != '(' || (args[1] != '\'' && args[1] != '"') {
			continue
		}
		q := args[1]
		end := strings.IndexByte(args[2:], q)
		if end < 0 {
			return ""
		}
		p, err := hl7v2.ParsePath(args[2 : 2+end])
		if err == nil {
			return p.String()
		}
	}
}

func identChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
