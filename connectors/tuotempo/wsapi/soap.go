package wsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

const (
	// envNS is the SOAP 1.1 envelope namespace.
	envNS = "http://schemas.xmlsoap.org/soap/envelope/"
	// maxDepth and maxElements bound a SOAP request.
	maxDepth    = 16
	maxElements = 1024
)

// soapFault is a fault the envelope itself causes (VersionMismatch,
// MustUnderstand); other faults come from *ws.Error.
type soapFault struct {
	code, message string
}

func (f *soapFault) Error() string { return f.message }

// serveSOAP answers POST {prefix}soap and GET {prefix}soap?wsdl.
func (h *handler) serveSOAP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if _, ok := r.URL.Query()["wsdl"]; ok {
			h.serveWSDL(w, r)
			return
		}
		http.Error(w, "POST a SOAP 1.1 envelope, or GET ?wsdl", http.StatusBadRequest)
		return
	}
	start := time.Now()
	var (
		center, name string
		n            int
	)
	recs, op, err := h.soapCall(w, r, &name, &center)
	if err == nil {
		n = len(recs)
		writeSOAPRecords(w, op, recs)
	} else {
		h.soapError(w, err)
	}
	h.record(r.Context(), "soap", name, center, start, n, err)
}

// soapCall reads, authenticates and runs one SOAP call; name and center
// are set as they become known.
func (h *handler) soapCall(w http.ResponseWriter, r *http.Request, name, center *string) ([]ws.Record, *ws.Operation, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		return nil, nil, errMethod
	}
	if !mediaType(r.Header.Get("Content-Type"), "text/xml") {
		return nil, nil, errMediaType
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	opName, params, err := parseEnvelope(body)
	if err != nil {
		return nil, nil, err
	}
	*name = opName
	if err := h.authenticate(r, params[CenterParam]); err != nil {
		return nil, nil, err
	}
	*center = params[CenterParam]
	if action := strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`); action != "" && action != Namespace+"#"+opName {
		return nil, nil, &ws.Error{Kind: ws.BadRequest, Message: "SOAPAction does not match the operation"}
	}
	op := h.reg.Lookup(opName)
	if op == nil {
		return nil, nil, &ws.Error{Kind: ws.NotFound, Message: "unknown operation"}
	}
	recs, err := invoke(r.Context(), op, params)
	return recs, op, err
}

// parseEnvelope parses a SOAP 1.1 request: the operation (the Body's one
// element, in Namespace) and its parameters (its children, in Namespace
// or unqualified, text only). No DTD, UTF-8 only, bounded depth and
// element count. Errors are *ws.Error BadRequest or *soapFault and never
// repeat a value.
func parseEnvelope(b []byte) (string, map[string]string, error) {
	bad := func(msg string, err error) error { return &ws.Error{Kind: ws.BadRequest, Message: msg, Err: err} }
	if !utf8.Valid(b) {
		return "", nil, bad("body is not UTF-8", nil)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var (
		depth, elements int
		path            [4]string // local names of the open elements up to depth 4
		opName, param   string
		text            strings.Builder
		params          = map[string]string{}
		seenBody, done  bool
		inParam         bool
	)
	for {
		t, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, bad("malformed XML", err)
		}
		switch t := t.(type) {
		case xml.Directive:
			return "", nil, bad("DTDs and declarations are not allowed", nil)
		case xml.ProcInst:
			if t.Target != "xml" || depth > 0 || elements > 0 {
				return "", nil, bad("processing instructions are not allowed", nil)
			}
		case xml.Comment:
		case xml.CharData:
			if inParam {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 && !(depth > 1 && path[1] == "Header") {
				return "", nil, bad("unexpected text in the envelope", nil)
			}
		case xml.StartElement:
			elements++
			depth++
			if depth > maxDepth || elements > maxElements {
				return "", nil, bad("envelope too deep or too large", nil)
			}
			if depth <= len(path) {
				path[depth-1] = t.Name.Local
			}
			switch {
			case depth == 1:
				if done || t.Name.Local != "Envelope" {
					return "", nil, bad("not a SOAP envelope", nil)
				}
				if t.Name.Space != envNS {
					return "", nil, &soapFault{code: "VersionMismatch", message: "only SOAP 1.1 envelopes are accepted"}
				}
			case depth == 2:
				switch {
				case t.Name.Space == envNS && t.Name.Local == "Header" && !seenBody:
				case t.Name.Space == envNS && t.Name.Local == "Body" && !seenBody:
					seenBody = true
				default:
					return "", nil, bad("the envelope holds an unexpected element", nil)
				}
			case depth == 3 && path[1] == "Header":
				for _, a := range t.Attr {
					if a.Name.Space == envNS && a.Name.Local == "mustUnderstand" && strings.TrimSpace(a.Value) == "1" {
						return "", nil, &soapFault{code: "MustUnderstand", message: "a mandatory header is not understood"}
					}
				}
			case depth == 3: // in Body
				if opName != "" {
					return "", nil, bad("the Body holds more than one element", nil)
				}
				if t.Name.Space != Namespace || safeName(t.Name.Local) == "" {
					return "", nil, &ws.Error{Kind: ws.NotFound, Message: "unknown operation"}
				}
				opName = t.Name.Local
			case depth == 4 && path[1] == "Body":
				if t.Name.Space != Namespace && t.Name.Space != "" {
					return "", nil, bad("parameters must be in the namespace "+Namespace, nil)
				}
				param, inParam = t.Name.Local, true
				text.Reset()
			case path[1] == "Body":
				return "", nil, badParam(param, "parameter must be text")
			}
		case xml.EndElement:
			if depth == 4 && inParam {
				if _, dup := params[param]; dup {
					return "", nil, badParam(param, "parameter given twice")
				}
				if len(params) == maxParams {
					return "", nil, bad("too many parameters", nil)
				}
				params[param] = text.String()
				inParam = false
			}
			if depth == 1 {
				done = true
			}
			depth--
		}
	}
	switch {
	case !done:
		return "", nil, bad("not a SOAP envelope", nil)
	case opName == "":
		return "", nil, bad("the Body holds no operation", nil)
	}
	return opName, params, nil
}

// soapEnvelope writes the envelope around body.
func soapEnvelope(body string) []byte {
	return []byte(xml.Header + `<soap:Envelope xmlns:soap="` + envNS + `" xmlns:tns="` + Namespace + `"><soap:Body>` + body + `</soap:Body></soap:Envelope>` + "\n")
}

// escape returns s escaped for XML text; invalid characters become U+FFFD.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeSOAP writes an envelope with status.
func writeSOAP(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(soapEnvelope(body))
}

// writeSOAPRecords writes tns:{op}Response with one tns:{op}Result per
// record, Out fields only, non-empty, Binary as base64.
func writeSOAPRecords(w http.ResponseWriter, op *ws.Operation, recs []ws.Record) {
	var b strings.Builder
	b.WriteString("<tns:" + op.Name + "Response>")
	for _, rec := range recs {
		b.WriteString("<tns:" + op.Name + "Result>")
		for _, f := range op.Out {
			v := rec[f.Name]
			if v == "" {
				continue
			}
			if f.Binary {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			b.WriteString("<tns:" + f.Name + ">" + escape(v) + "</tns:" + f.Name + ">")
		}
		b.WriteString("</tns:" + op.Name + "Result>")
	}
	b.WriteString("</tns:" + op.Name + "Response>")
	writeSOAP(w, http.StatusOK, b.String())
}

// kindNames name ws.Kind values in fault details.
var kindNames = map[ws.Kind]string{ws.BadRequest: "BadRequest", ws.NotFound: "NotFound", ws.Unavailable: "Unavailable"}

// soapError answers err as a fault.
func (h *handler) soapError(w http.ResponseWriter, err error) {
	var (
		we *ws.Error
		sf *soapFault
	)
	switch {
	case errors.Is(err, errUnauthorized), errors.Is(err, errBasicNeedsTLS):
		h.challenge(w)
		writeSOAP(w, http.StatusUnauthorized, fault("soap:Client", err.Error(), ""))
	case errors.Is(err, errMethod):
		http.Error(w, "POST a SOAP 1.1 envelope, or GET ?wsdl", http.StatusMethodNotAllowed)
	case errors.Is(err, errMediaType):
		http.Error(w, "Content-Type must be text/xml (UTF-8) for SOAP 1.1", http.StatusUnsupportedMediaType)
	case errors.Is(err, errTooLarge):
		http.Error(w, errTooLarge.Error(), http.StatusRequestEntityTooLarge)
	case errors.As(err, &sf):
		writeSOAP(w, http.StatusInternalServerError, fault("soap:"+sf.code, sf.message, ""))
	case errors.As(err, &we) && (we.Kind == ws.BadRequest || we.Kind == ws.NotFound):
		detail := "<tns:error><tns:kind>" + kindNames[we.Kind] + "</tns:kind>"
		if we.Field != "" {
			detail += "<tns:field>" + escape(we.Field) + "</tns:field>"
		}
		detail += "</tns:error>"
		writeSOAP(w, http.StatusInternalServerError, fault("soap:Client", we.Message, detail))
	default:
		w.Header().Set("Retry-After", retryAfter)
		writeSOAP(w, http.StatusInternalServerError, fault("soap:Server", "temporarily unavailable",
			"<tns:error><tns:kind>Unavailable</tns:kind></tns:error>"))
	}
}

// fault renders a SOAP 1.1 Fault.
func fault(code, msg, detail string) string {
	s := "<soap:Fault><faultcode>" + code + "</faultcode><faultstring>" + escape(msg) + "</faultstring>"
	if detail != "" {
		s += "<detail>" + detail + "</detail>"
	}
	return s + "</soap:Fault>"
}
