package mapping

import (
	"errors"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones without an OS time zone database

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
	"github.com/goccy/go-yaml/ast"
)

var (
	errBadDateTime = errors.New("value is not a FHIR date, dateTime or instant")
	errPartialDate = errors.New("value is a partial date (year or year-month only)")
)

// layoutTokens translates the documented layout tokens to Go's.
var layoutTokens = []struct{ tok, goTok string }{
	{"yyyy", "2006"}, {"yy", "06"}, {"MM", "01"}, {"dd", "02"}, {"HH", "15"},
	{"hh", "03"}, {"mm", "04"}, {"ss", "05"}, {"SSS", "000"}, {"a", "PM"},
}

// goLayout converts a token layout ("dd/MM/yyyy HH:mm") or a "go:" layout.
func goLayout(s string) (string, bool) {
	if g, ok := strings.CutPrefix(s, "go:"); ok {
		return g, g != ""
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		for _, t := range layoutTokens {
			if strings.HasPrefix(s[i:], t.tok) {
				b.WriteString(t.goTok)
				i += len(t.tok)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := s[i]
		if c >= '0' && c <= '9' || (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && c != 'T' {
			return "", false
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), s != ""
}

// parseFHIRTime parses a FHIR date, dateTime or instant. Values without an
// offset (dates, local times) are taken as wall clock in loc; so are all
// values when wall is set (their offset is ignored).
func parseFHIRTime(s string, loc *time.Location, wall bool) (time.Time, error) {
	switch {
	case len(s) == 4 || len(s) == 7:
		return time.Time{}, errPartialDate
	case len(s) == 10:
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return time.Time{}, errBadDateTime
		}
		return t, nil
	case len(s) < 16 || s[10] != 'T':
		return time.Time{}, errBadDateTime
	}
	local, hasZone := s, false
	if strings.HasSuffix(s, "Z") {
		local, hasZone = s[:len(s)-1], true
	} else if i := strings.LastIndexAny(s[11:], "+-"); i >= 0 {
		local, hasZone = s[:11+i], true
	}
	if !hasZone || wall {
		t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", local, loc)
		if err != nil {
			if t, err = time.ParseInLocation("2006-01-02T15:04", local, loc); err != nil {
				return time.Time{}, errBadDateTime
			}
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errBadDateTime
	}
	return t.In(loc), nil
}

// timeStep formats date-times (datetime, date) or converts them to Unix
// seconds (unix).
type timeStep struct {
	layout string
	loc    *time.Location
	wall   bool
	unix   bool
}

func (t *timeStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	for i, v := range in {
		if v.Kind != fhir.String {
			return nil, errBadDateTime
		}
		tm, err := parseFHIRTime(v.Str, t.loc, t.wall)
		if err != nil {
			return nil, err
		}
		if t.unix {
			in[i] = fhir.NewNumber(strconv.FormatInt(tm.Unix(), 10))
		} else {
			in[i] = fhir.NewString(tm.Format(t.layout))
		}
	}
	return in, nil
}

func init() {
	register("datetime", argRequired, newDatetime)
	register("date", argRequired, newDatetime)
	register("unix", argOptional, func(c *compiler, n ast.Node) (step, error) {
		t := &timeStep{loc: time.UTC, unix: true}
		if n == nil {
			return t, nil
		}
		return t, c.argObject("unix", n, map[string]func(ast.Node) error{
			"zone": func(v ast.Node) (err error) { t.loc, err = c.zone(v); return },
		})
	})
	register("seconds_between", argRequired, newSecondsBetween)
}

// zone loads the IANA zone named at n (or by the parameter it names).
func (c *compiler) zone(n ast.Node) (*time.Location, error) {
	name, err := c.paramText(n, "zone")
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, c.errAt(n, "unknown time zone "+strconv.Quote(name))
	}
	return loc, nil
}

func newDatetime(c *compiler, n ast.Node) (step, error) {
	t := &timeStep{loc: time.UTC}
	haveLayout := false
	err := c.argObject("datetime", n, map[string]func(ast.Node) error{
		"layout": func(v ast.Node) error {
			s, err := c.str(v, "layout")
			if err != nil {
				return err
			}
			l, ok := goLayout(s)
			if !ok {
				return c.errAt(v, "layout: use tokens yyyy yy MM dd HH hh mm ss SSS a, or go:<Go layout>")
			}
			t.layout, haveLayout = l, true
			return nil
		},
		"zone": func(v ast.Node) (err error) { t.loc, err = c.zone(v); return },
		"input": func(v ast.Node) error {
			var s string
			err := c.oneOf(v, "input", &s, "wall", "convert")
			t.wall = s == "wall"
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	if !haveLayout {
		return nil, c.errAt(n, "datetime needs layout")
	}
	return t, nil
}

// secondsBetween gives the whole seconds from each value to the end
// expression's (first) value.
type secondsBetween struct {
	end *fhirpath.Expr
}

func (s *secondsBetween) apply(in []*fhir.Value, c *runCtx) ([]*fhir.Value, error) {
	if len(in) == 0 {
		return in, nil
	}
	ec, err := s.end.Eval(c.env, c.focus)
	if err != nil {
		return nil, err
	}
	if len(ec) == 0 {
		return in[:0], nil
	}
	es, ok := ec[0].AsString()
	if !ok {
		return nil, errBadDateTime
	}
	end, err := parseFHIRTime(es, time.UTC, false)
	if err != nil {
		return nil, err
	}
	for i, v := range in {
		if v.Kind != fhir.String {
			return nil, errBadDateTime
		}
		start, err := parseFHIRTime(v.Str, time.UTC, false)
		if err != nil {
			return nil, err
		}
		in[i] = fhir.NewNumber(strconv.FormatInt(int64(end.Sub(start)/time.Second), 10))
	}
	return in, nil
}

func newSecondsBetween(c *compiler, n ast.Node) (step, error) {
	s := &secondsBetween{}
	err := c.argObject("seconds_between", n, map[string]func(ast.Node) error{
		"end": func(v ast.Node) (err error) { s.end, _, err = c.expr(v, "end"); return },
	})
	if err == nil && s.end == nil {
		err = c.errAt(n, "seconds_between needs end")
	}
	return s, err
}
