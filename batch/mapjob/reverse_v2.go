package mapjob

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// runReverseV2 streams the HL7 v2 messages of the input — single
// messages one after the other, or a batch file FHS/BHS/…/BTS/FTS — and
// maps each with an `input: hl7v2` mapping into one FHIR resource. A
// message that cannot be parsed or mapped is reported by its number (and
// the v2 location when known) and the others still map; an envelope,
// read or size-limit error ends the run.
func runReverseV2(ctx context.Context, opt Options, s *sink) (Stats, error) {
	cr := &countingReader{r: opt.In}
	rd := hl7v2.NewReader(cr, hl7v2.Options{})
	work := func(c *chunk) { reverseV2Chunk(opt, s, c) }
	return pipeline(ctx, opt, s, func(emit func(*chunk) bool) error {
		c := &chunk{}
		flush := func() bool {
			if opt.OnProgress != nil {
				opt.OnProgress(cr.n)
			}
			ok := emit(c)
			c = &chunk{}
			return ok
		}
		for {
			msg, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil && rd.Final() {
				if len(c.units) > 0 {
					flush()
				}
				return err
			}
			c.units = append(c.units, unit{line: rd.MessageNumber(), rec: msg, err: err})
			if len(c.units) == chunkSize && !flush() {
				return nil
			}
		}
		if len(c.units) > 0 {
			flush()
		}
		return nil
	}, work)
}

func reverseV2Chunk(opt Options, s *sink, c *chunk) {
	m := opt.Mapping
	for _, u := range c.units {
		c.st.Read++
		where := "message " + strconv.Itoa(u.line)
		if u.err != nil {
			// a parse error names its message number and location itself
			c.errs = append(c.errs, &RecordError{Err: u.err})
			continue
		}
		msg, _ := u.rec.(*hl7v2.Message)
		res, err := m.ReverseMessage(msg)
		if err != nil {
			if loc := mapping.V2Location(err); loc != "" {
				where += " (" + loc + ")"
			}
			c.errs = append(c.errs, &RecordError{Where: where, Err: err})
			continue
		}
		if res == nil {
			c.st.Skipped++
			continue
		}
		if err := s.encode(c, res); err != nil {
			c.errs = append(c.errs, &RecordError{Where: where, Err: err})
			continue
		}
		c.st.Written++
	}
}
