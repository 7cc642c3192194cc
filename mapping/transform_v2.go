package mapping

import (
	"errors"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/goccy/go-yaml/ast"
)

// errBadDTM says a value is not an HL7 v2 DTM/DT; it never quotes it.
var errBadDTM = errors.New("value is not an HL7 v2 date/time (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ])")

// v2DateTime converts HL7 v2 DTM/DT values to FHIR date or dateTime,
// keeping their precision (a time is completed to seconds, as FHIR
// requires). A value with a time gets its own offset when it has one,
// else the offset of loc at that instant.
type v2DateTime struct{ loc *time.Location }

func init() {
	register("v2datetime", argOptional, func(c *compiler, n ast.Node) (step, error) {
		t := &v2DateTime{loc: time.UTC}
		if n == nil {
			return t, nil
		}
		return t, c.argObject("v2datetime", n, map[string]func(ast.Node) error{
			"zone": func(v ast.Node) (err error) { t.loc, err = c.zone(v); return },
		})
	})
}

func (t *v2DateTime) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	for i, v := range in {
		if v.Kind != fhir.String {
			return nil, errBadDTM
		}
		s, err := convertDTM(v.Str, t.loc)
		if err != nil {
			return nil, err
		}
		in[i] = fhir.NewString(s)
	}
	return in, nil
}

// maxDTM bounds the length of a DTM: 14 digits, a 9-digit fraction, an offset.
const maxDTM = 4 + 2*5 + 1 + 9 + 5

// convertDTM converts one HL7 DTM/DT to FHIR.
func convertDTM(s string, loc *time.Location) (string, error) {
	if len(s) > maxDTM {
		return "", errBadDTM
	}
	body, off := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '+' || s[i] == '-' {
			body, off = s[:i], s[i:]
			break
		}
	}
	frac := ""
	if i := indexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(body) != 14 || frac == "" || len(frac) > 9 || !allDigits(frac) {
			return "", errBadDTM
		}
	}
	switch len(body) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return "", errBadDTM
	}
	if !allDigits(body) {
		return "", errBadDTM
	}
	num := func(a, b int) int {
		n := 0
		for _, c := range body[a:b] {
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day, hour, minute, sec := num(0, 4), 1, 1, 0, 0, 0
	if year == 0 {
		return "", errBadDTM // FHIR has no year 0000
	}
	if len(body) >= 6 {
		if month = num(4, 6); month < 1 || month > 12 {
			return "", errBadDTM
		}
	}
	if len(body) >= 8 {
		day = num(6, 8)
		if day < 1 || day > daysIn(year, month) {
			return "", errBadDTM
		}
	}
	if len(body) >= 10 {
		hour = num(8, 10)
	}
	if len(body) >= 12 {
		minute = num(10, 12)
	}
	if len(body) >= 14 {
		sec = num(12, 14)
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return "", errBadDTM
	}
	offSec, haveOff := 0, off != ""
	if haveOff {
		if len(off) != 5 || !allDigits(off[1:]) {
			return "", errBadDTM
		}
		h, m := int(off[1]-'0')*10+int(off[2]-'0'), int(off[3]-'0')*10+int(off[4]-'0')
		if h > 14 || m > 59 {
			return "", errBadDTM
		}
		offSec = (h*60 + m) * 60
		if off[0] == '-' {
			offSec = -offSec
		}
	}
	switch len(body) {
	case 4:
		return body, nil
	case 6:
		return body[:4] + "-" + body[4:6], nil
	case 8:
		return body[:4] + "-" + body[4:6] + "-" + body[6:8], nil
	}
	z := loc
	if haveOff {
		z = time.FixedZone("", offSec)
	}
	// the wall clock as written; only the offset comes from the zone (a
	// time in a DST gap keeps its digits)
	tm := time.Date(year, time.Month(month), day, hour, minute, sec, 0, z)
	out := body[:4] + "-" + body[4:6] + "-" + body[6:8] + "T" + two(hour) + ":" + two(minute) + ":" + two(sec)
	if frac != "" {
		out += "." + frac
	}
	return out + tm.Format("-07:00"), nil
}

func two(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
