package hl7v2

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Acknowledgment codes of MSA-1 in original mode (HL7 table 0008).
const (
	AckAccept = "AA" // application accept
	AckErr    = "AE" // application error
	AckReject = "AR" // application reject
)

// HL7 error codes of ERR-3 (HL7 table 0357) that an AckError may carry.
const (
	CodeSegmentSequence    = 100
	CodeRequiredMissing    = 101
	CodeDataType           = 102
	CodeTableValue         = 103
	CodeUnsupportedType    = 200
	CodeUnsupportedEvent   = 201
	CodeUnsupportedProcID  = 202
	CodeUnsupportedVersion = 203
	CodeInternal           = 207
)

// codeText is the table 0357 text of each supported code.
var codeText = map[int]string{
	CodeSegmentSequence:    "Segment sequence error",
	CodeRequiredMissing:    "Required field missing",
	CodeDataType:           "Data type error",
	CodeTableValue:         "Table value not found",
	CodeUnsupportedType:    "Unsupported message type",
	CodeUnsupportedEvent:   "Unsupported event code",
	CodeUnsupportedProcID:  "Unsupported processing id",
	CodeUnsupportedVersion: "Unsupported version id",
	CodeInternal:           "Application internal error",
}

// MaxAckText bounds AckError.Text (ERR-8).
const MaxAckText = 250

// Defaults written into an ACK when the original's MSH-11 or MSH-12
// cannot be read.
const (
	DefaultAckProcessingID = "P"
	DefaultAckVersion      = "2.5"
)

// ErrAck is a bad request to build an acknowledgment (unknown code, an
// error detail missing or where none belongs).
var ErrAck = errors.New("bad acknowledgment request")

// AckError is the detail of an AE or AR acknowledgment, written into
// the ERR segment.
type AckError struct {
	// Loc is where the problem is (ERR-2: segment id, sequence, field
	// position, repetition, component, subcomponent); a zero Path (no
	// Segment) leaves ERR-2 empty.
	Loc Path
	// Code is the HL7 error code of table 0357 (ERR-3), one of the
	// Code* constants.
	Code int
	// Text is ERR-8, the user message. It must be fixed text that holds
	// no value from the message; at most MaxAckText bytes.
	Text string
}

// Acker builds original-mode acknowledgments. The zero value uses the
// wall clock and random control ids.
type Acker struct {
	// Now gives MSH-7; nil means time.Now.
	Now func() time.Time
	// ControlID gives MSH-10 of each ACK; nil means 20 random hex digits.
	ControlID func() string
}

// Ack builds an acknowledgment of orig with the zero Acker.
func Ack(orig *Message, code string, e *AckError) (*Message, error) {
	return Acker{}.Ack(orig, code, e)
}

// AckForUnparsable builds an acknowledgment of a message that could not
// be parsed, with the zero Acker.
func AckForUnparsable(raw []byte, code string, e *AckError) (*Message, error) {
	return Acker{}.AckForUnparsable(raw, code, e)
}

// Ack builds the original-mode ACK of orig: same delimiters, character
// set and MSH-18; MSH-3/4 (sending application and facility) and MSH-5/6
// (receiving) swapped; a new MSH-7 and MSH-10; MSH-9 "ACK^<trigger>^ACK";
// MSH-11 and MSH-12 copied; MSA-1 the code and MSA-2 the original MSH-10.
// AE and AR need e, which becomes the ERR segment (ERR-2 location,
// ERR-3 code, ERR-4 severity E, ERR-8 text); AA takes no e.
func (a Acker) Ack(orig *Message, code string, e *AckError) (*Message, error) {
	if orig == nil || orig.Segment("MSH", 1) == nil {
		return nil, fmt.Errorf("hl7v2: ack: %w: no original message", ErrAck)
	}
	msh := orig.Segment("MSH", 1)
	h := header{
		sendApp: msh.Raw(5), sendFac: msh.Raw(6), recvApp: msh.Raw(3), recvFac: msh.Raw(4),
		control: msh.Raw(10), procID: msh.Raw(11), version: msh.Raw(12), charset: msh.Raw(18),
	}
	_, h.trigger = orig.Type()
	h.trigger = Escape(h.trigger, orig.Delimiters)
	return a.build(orig.Delimiters, orig.Charset, h, code, e)
}

// AckForUnparsable builds an acknowledgment of raw, a message that could
// not be parsed, from what its first line still gives: when it starts
// with "MSH" and valid delimiters, MSH-3 to MSH-6, the trigger of MSH-9,
// MSH-10, MSH-11, MSH-12 and a supported MSH-18 are copied as in Ack —
// each only if it is printable ASCII without escape sequences, else left
// empty — and code is used. When even MSH-1/MSH-2 cannot be read, the ACK
// is an AR with the default delimiters, MSH-11 DefaultAckProcessingID and
// MSH-12 DefaultAckVersion, whatever code says.
func (a Acker) AckForUnparsable(raw []byte, code string, e *AckError) (*Message, error) {
	line := raw
	for len(line) > 0 && (line[0] == '\r' || line[0] == '\n') {
		line = line[1:]
	}
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	if len(line) < 8 || string(line[:3]) != "MSH" {
		return a.build(DefaultDelimiters, UTF8, header{}, AckReject, e)
	}
	fs := line[3]
	parts := bytes.Split(line[4:], []byte{fs})
	d, ok := delimitersFrom(fs, parts[0])
	if !ok {
		return a.build(DefaultDelimiters, UTF8, header{}, AckReject, e)
	}
	// parts[i] is MSH-(i+2).
	field := func(n int) string {
		if n-2 >= len(parts) {
			return ""
		}
		v := parts[n-2]
		if len(v) > 250 {
			return ""
		}
		for _, c := range v {
			if c < ' ' || c > '~' || c == d.Escape {
				return ""
			}
		}
		return string(v)
	}
	h := header{
		sendApp: field(5), sendFac: field(6), recvApp: field(3), recvFac: field(4),
		control: field(10), procID: field(11), version: field(12),
	}
	typ := field(9)
	if c := bytes.IndexByte([]byte(typ), d.Repetition); c >= 0 {
		typ = typ[:c]
	}
	comps := bytes.Split([]byte(typ), []byte{d.Component})
	if len(comps) > 1 {
		t, _, _ := bytes.Cut(comps[1], []byte{d.Subcomponent})
		h.trigger = string(t)
	}
	cs := UTF8
	if c, ok := charsetOf(field(18)); ok && field(18) != "" {
		cs, h.charset = c, field(18)
	}
	return a.build(d, cs, h, code, e)
}

// header holds the raw (escaped) MSH values an ACK copies.
type header struct {
	sendApp, sendFac, recvApp, recvFac         string
	trigger, control, procID, version, charset string
}

func (a Acker) build(d Delimiters, cs Charset, h header, code string, e *AckError) (*Message, error) {
	switch code {
	case AckAccept:
		if e != nil {
			return nil, fmt.Errorf("hl7v2: ack: %w: AA takes no error detail", ErrAck)
		}
	case AckErr, AckReject:
		if e == nil {
			return nil, fmt.Errorf("hl7v2: ack: %w: %s needs an error detail", ErrAck, code)
		}
		if _, ok := codeText[e.Code]; !ok {
			return nil, fmt.Errorf("hl7v2: ack: %w: error code %d is not a supported table 0357 code", ErrAck, e.Code)
		}
		if l := e.Loc; l.Segment != "" && !l.valid() &&
			!(l.Field == 0 && l.Repetition == 0 && l.Component == 0 && l.Sub == 0 && validName(l.Segment) && l.Occurrence >= 0 && l.Occurrence <= maxIndex) {
			return nil, fmt.Errorf("hl7v2: ack: %w: invalid error location", ErrAck)
		}
		if len(e.Text) > MaxAckText {
			return nil, fmt.Errorf("hl7v2: ack: %w: error text over %d bytes", ErrAck, MaxAckText)
		}
	default:
		return nil, fmt.Errorf("hl7v2: ack: %w: code must be AA, AE or AR", ErrAck)
	}
	m, err := NewMessage(d, cs)
	if err != nil {
		return nil, err
	}
	msh := m.segments[0]
	// Raw values are already escaped for these delimiters.
	setRaw := func(n int, v string) {
		for len(msh.fields) <= n {
			msh.fields = append(msh.fields, "")
		}
		msh.fields[n] = v
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	id := a.ControlID
	if id == nil {
		id = randomControlID
	}
	if h.procID == "" {
		h.procID = DefaultAckProcessingID
	}
	if h.version == "" {
		h.version = DefaultAckVersion
	}
	setRaw(3, h.sendApp)
	setRaw(4, h.sendFac)
	setRaw(5, h.recvApp)
	setRaw(6, h.recvFac)
	setRaw(7, Escape(now().Format("20060102150405-0700"), d))
	c := string(d.Component)
	setRaw(9, "ACK"+c+h.trigger+c+"ACK")
	setRaw(10, Escape(id(), d))
	setRaw(11, h.procID)
	setRaw(12, h.version)
	if h.charset != "" || len(msh.fields) > 18 {
		setRaw(18, h.charset)
	}
	for len(msh.fields) > 13 && msh.fields[len(msh.fields)-1] == "" {
		msh.fields = msh.fields[:len(msh.fields)-1]
	}
	if _, err := m.AddSegment("MSA"); err != nil {
		return nil, err
	}
	msa := m.segments[1]
	msa.fields = append(msa.fields, code, h.control)
	if e == nil {
		return m, nil
	}
	if _, err := m.AddSegment("ERR"); err != nil {
		return nil, err
	}
	errSeg := m.segments[2]
	errSeg.fields = append(errSeg.fields, "", errorLocation(e.Loc, d),
		strconv.Itoa(e.Code)+c+Escape(codeText[e.Code], d)+c+"HL70357",
		"E", "", "", "", Escape(e.Text, d))
	return m, nil
}

// errorLocation writes ERR-2 (ERL): segment id ^ sequence ^ field ^
// repetition ^ component ^ subcomponent, the given parts only.
func errorLocation(p Path, d Delimiters) string {
	if p.Segment == "" {
		return ""
	}
	parts := []string{p.Segment, strconv.Itoa(first(p.Occurrence))}
	if p.Field > 0 {
		parts = append(parts, strconv.Itoa(p.Field), strconv.Itoa(first(p.Repetition)))
		if p.Component > 0 {
			parts = append(parts, strconv.Itoa(p.Component))
			if p.Sub > 0 {
				parts = append(parts, strconv.Itoa(p.Sub))
			}
		}
	}
	out := parts[0]
	for _, s := range parts[1:] {
		out += string(d.Component) + s
	}
	return out
}

// randomControlID returns 20 random hex digits (MSH-10 is at most 20
// characters before v2.7).
func randomControlID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
