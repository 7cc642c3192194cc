package fhirpath

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// HL7 v2 navigation. The message of an evaluation is Env.Message; its
// items are positions in it, never copies of its text:
//
//	kV2Msg    the whole message
//	kV2Group  segments [i, idx) (from v2groups)
//	kV2Seg    the segment at index i (from v2segments)
//	kV2Rep    repetition i&0xffffffff of field idx of segment i>>32 (from v2reps)
//
// v2('PID-5[1].1') reads unescaped values, v2segments('AIP') lists
// segments, v2groups('RGS') splits the focus at each segment of a name,
// and v2reps('PID-3') lists a field's repetitions, on which v2('4.1')
// reads a component and subcomponent.

// MessageItem returns the item standing for Env.Message: the focus of a
// mapping whose record is an HL7 v2 message.
func MessageItem() Item { return Item{k: kV2Msg} }

// messageColl is %resource of an HL7 v2 record. Read-only.
var messageColl = Collection{MessageItem()}

// IsV2 reports whether the item is a position in an HL7 v2 message (the
// message, a group, a segment or a repetition) rather than a value.
func (it Item) IsV2() bool { return it.k >= kV2Msg }

// v2Path is the compiled argument of v2() or v2reps().
type v2Path struct {
	full      bool       // SEG-field… path; else component[.sub] of a repetition
	p         hl7v2.Path // the full path
	comp, sub int        // the relative path
	text      string
}

// v2Functions lists the HL7 v2 functions, whose arguments are checked at
// compile time.
var v2Functions = map[string]bool{"v2": true, "v2segments": true, "v2groups": true, "v2reps": true}

// compileV2 checks the literal argument of a v2 function call and keeps
// its parsed form in cl.
func (cp *compiler) compileV2(a *ast, cl *call) error {
	arg := a.args[1]
	if arg.kind != aLit || len(arg.lit) != 1 || arg.lit[0].k != kStr {
		return cp.errf(arg.col, ErrSyntax, a.name+"() takes a string literal")
	}
	s := arg.lit[0].s
	switch a.name {
	case "v2segments", "v2groups":
		if !segmentName(s) {
			return cp.errf(arg.col, ErrSyntax, a.name+"(): segment name must be three upper-case letters or digits starting with a letter")
		}
		cl.data = s
		return nil
	}
	vp := &v2Path{text: s}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		if a.name == "v2reps" {
			return cp.errf(arg.col, ErrSyntax, "v2reps() takes a field path such as 'PID-3'")
		}
		c, sub, ok := relativePath(s)
		if !ok {
			return cp.errf(arg.col, ErrSyntax, "v2(): a path on a repetition is component[.subcomponent], numbers 1-9999, such as '4' or '4.1'")
		}
		vp.comp, vp.sub = c, sub
	} else {
		p, err := hl7v2.ParsePath(s)
		if err != nil {
			return cp.errf(arg.col, ErrSyntax, a.name+"(): "+strings.TrimPrefix(err.Error(), "hl7v2: "))
		}
		if a.name == "v2reps" && p.Component > 0 {
			return cp.errf(arg.col, ErrSyntax, "v2reps() takes a field path without component, such as 'PID-3'")
		}
		vp.full, vp.p = true, p
		// v2segments('AIP').v2('AIS-3') can never match: say so now
		if src := a.args[0]; src != nil && src.kind == aCall && src.name == "v2segments" && len(src.args) == 2 &&
			src.args[1].kind == aLit && len(src.args[1].lit) == 1 && src.args[1].lit[0].s != p.Segment {
			return cp.errf(arg.col, ErrSyntax, a.name+"(): path names segment "+p.Segment+" but the focus is "+src.args[1].lit[0].s+" segments")
		}
	}
	cl.data = vp
	return nil
}

// relativePath parses "c" or "c.s" (1-9999 each, no leading zero).
func relativePath(s string) (comp, sub int, ok bool) {
	cs, ss, dot := strings.Cut(s, ".")
	if comp, ok = smallNumber(cs); !ok {
		return 0, 0, false
	}
	if dot {
		if sub, ok = smallNumber(ss); !ok {
			return 0, 0, false
		}
	}
	return comp, sub, true
}

func smallNumber(s string) (int, bool) {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func segmentName(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func init() {
	register("v2", 1, 1, v2Value)
	register("v2segments", 1, 1, v2Segments)
	register("v2groups", 1, 1, v2Groups)
	register("v2reps", 1, 1, v2Reps)
}

// v2Message returns the message of the evaluation for an input of v2 items.
func v2Message(c *ctx, name string) (*hl7v2.Message, error) {
	if c.env.Message == nil {
		return nil, evalError(name + "() needs an HL7 v2 message as the record")
	}
	return c.env.Message, nil
}

// v2Bounds gives the segment range [lo, hi) of a message or group item.
func v2Bounds(m *hl7v2.Message, it Item) (lo, hi int) {
	n := len(m.Segments())
	if it.k == kV2Msg {
		return 0, n
	}
	lo, hi = int(it.i), int(it.idx)
	return min(max(lo, 0), n), min(max(hi, 0), n)
}

// v2Find returns the occ-th (0 = first) segment named name in [lo, hi).
func v2Find(m *hl7v2.Message, lo, hi int, name string, occ int) *hl7v2.Segment {
	occ = max(occ, 1)
	segs := m.Segments()
	for i := lo; i < hi; i++ {
		if segs[i].Name == name {
			if occ--; occ == 0 {
				return segs[i]
			}
		}
	}
	return nil
}

func v2InputErr(name, want string) error {
	return evalError(name + "() needs " + want + " as its input")
}

// v2Segment resolves the segment a full path addresses from item it.
func v2Segment(m *hl7v2.Message, it Item, name string, p hl7v2.Path) (*hl7v2.Segment, error) {
	switch it.k {
	case kV2Msg, kV2Group:
		lo, hi := v2Bounds(m, it)
		return v2Find(m, lo, hi, p.Segment, p.Occurrence), nil
	case kV2Seg:
		s := m.Segments()[it.i]
		if s.Name != p.Segment {
			return nil, evalError(name + "(): path names segment " + p.Segment + " but the focus is a " + s.Name + " segment")
		}
		if p.Occurrence > 0 {
			return nil, evalError(name + "(): a segment index such as " + p.Segment + "[2] needs a message or group as the focus, not a segment")
		}
		return s, nil
	case kV2Rep:
		return nil, evalError(name + "(): on a repetition (from v2reps), give component[.subcomponent] such as '4.1'")
	}
	return nil, v2InputErr(name, "an HL7 v2 message, group or segment")
}

// v2Append appends the non-empty value of s at p (field, repetition,
// component, subcomponent). HL7's explicit null `""` counts as empty.
func v2Append(c *ctx, out Collection, m *hl7v2.Message, s *hl7v2.Segment, p hl7v2.Path, n int) (Collection, error) {
	v, ok, err := m.Value(s, p)
	if err != nil {
		return out, fmt.Errorf("%w: v2(): %w", ErrEval, err)
	}
	if !ok || v == "" || v == `""` {
		return out, nil
	}
	if out == nil {
		out = c.alloc(n)
	}
	return append(out, String(v)), nil
}

func v2Value(c *ctx, in, _ Collection, cl *call) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	m, err := v2Message(c, "v2")
	if err != nil {
		return nil, err
	}
	vp := cl.data.(*v2Path)
	var out Collection
	for _, it := range in {
		if it.k == kV2Rep {
			if vp.full {
				return nil, evalError("v2(): on a repetition (from v2reps), give component[.subcomponent] such as '4.1', not a segment path")
			}
			s := m.Segments()[it.i>>32]
			p := hl7v2.Path{Field: int(it.idx), Repetition: int(it.i & 0xffffffff), Component: vp.comp, Sub: vp.sub}
			if out, err = v2Append(c, out, m, s, p, len(in)); err != nil {
				return nil, err
			}
			continue
		}
		if !vp.full {
			if it.k >= kV2Msg {
				return nil, evalError("v2(): a component path such as '4.1' needs a repetition (from v2reps) as the focus")
			}
			return nil, v2InputErr("v2", "an HL7 v2 message, group, segment or repetition")
		}
		s, err := v2Segment(m, it, "v2", vp.p)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		p := vp.p
		if p.Repetition > 0 {
			if out, err = v2Append(c, out, m, s, p, len(in)); err != nil {
				return nil, err
			}
			continue
		}
		n := m.Repetitions(s, p.Field)
		for r := 1; r <= n; r++ {
			p.Repetition = r
			if out, err = v2Append(c, out, m, s, p, n*len(in)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func v2Segments(c *ctx, in, _ Collection, cl *call) (Collection, error) {
	return v2Split(c, in, "v2segments", cl.data.(string), false)
}

func v2Groups(c *ctx, in, _ Collection, cl *call) (Collection, error) {
	return v2Split(c, in, "v2groups", cl.data.(string), true)
}

// v2Split is v2segments and v2groups: within each message or group of in,
// it finds the segments named name and returns them (groups false), or
// the groups they start, each running to the next one or to the end of
// the focus (groups true). fn names the function in errors.
func v2Split(c *ctx, in Collection, fn, name string, groups bool) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	m, err := v2Message(c, fn)
	if err != nil {
		return nil, err
	}
	segs := m.Segments()
	var out Collection
	for _, it := range in {
		if it.k != kV2Msg && it.k != kV2Group {
			return nil, v2InputErr(fn, "an HL7 v2 message or group")
		}
		lo, hi := v2Bounds(m, it)
		start := -1
		for i := lo; i <= hi; i++ {
			if i < hi && segs[i].Name != name {
				continue
			}
			switch {
			case !groups && i < hi:
				if out == nil {
					out = c.alloc(hi - i)
				}
				out = append(out, Item{k: kV2Seg, i: int64(i)})
			case groups && start >= 0:
				if out == nil {
					out = c.alloc(4)
				}
				out = append(out, Item{k: kV2Group, i: int64(start), idx: int32(i)})
			}
			start = i
		}
	}
	return out, nil
}

func v2Reps(c *ctx, in, _ Collection, cl *call) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	m, err := v2Message(c, "v2reps")
	if err != nil {
		return nil, err
	}
	vp := cl.data.(*v2Path)
	rep := string(m.Delimiters.Repetition)
	var out Collection
	for _, it := range in {
		s, err := v2Segment(m, it, "v2reps", vp.p)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		raw := s.Raw(vp.p.Field)
		if raw == "" {
			continue
		}
		n := m.Repetitions(s, vp.p.Field)
		for r := 1; r <= n; r++ {
			var piece string
			if n == 1 {
				piece = raw
			} else {
				piece, raw, _ = strings.Cut(raw, rep)
			}
			if (vp.p.Repetition > 0 && r != vp.p.Repetition) || piece == "" || piece == `""` {
				continue
			}
			if out == nil {
				out = c.alloc(n)
			}
			out = append(out, Item{k: kV2Rep, i: int64(s.Index)<<32 | int64(r), idx: int32(vp.p.Field)})
		}
	}
	return out, nil
}

// v2TypeNames name the v2 item kinds for TypeName.
func v2TypeName(k kind) string {
	switch k {
	case kV2Msg:
		return "HL7v2.Message"
	case kV2Group:
		return "HL7v2.Group"
	case kV2Seg:
		return "HL7v2.Segment"
	case kV2Rep:
		return "HL7v2.Repetition"
	}
	return "kind " + strconv.Itoa(int(k))
}
