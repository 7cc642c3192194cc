package wsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// serveREST answers POST {prefix}rest/{name}.
func (h *handler) serveREST(w http.ResponseWriter, r *http.Request, name string) {
	start := time.Now()
	var (
		center string
		n      int
	)
	recs, op, err := h.restCall(w, r, name, &center)
	if err == nil {
		n = len(recs)
		writeJSONRecords(w, op, recs)
	} else {
		h.restError(w, err)
	}
	h.record(r.Context(), "rest", name, center, start, n, err)
}

// restCall reads, authenticates and runs one REST call; center is set once
// authenticated.
func (h *handler) restCall(w http.ResponseWriter, r *http.Request, name string, center *string) ([]ws.Record, *ws.Operation, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, nil, errMethod
	}
	if !mediaType(r.Header.Get("Content-Type"), "application/json") {
		return nil, nil, errMediaType
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	params, err := parseRESTBody(body)
	if err != nil {
		return nil, nil, err
	}
	if err := h.authenticate(r, params[CenterParam]); err != nil {
		return nil, nil, err
	}
	*center = params[CenterParam]
	op := h.reg.Lookup(name)
	if op == nil {
		return nil, nil, &ws.Error{Kind: ws.NotFound, Message: "unknown operation"}
	}
	recs, err := invoke(r.Context(), op, params)
	return recs, op, err
}

// mediaType reports whether ct is want, with no charset or UTF-8.
func mediaType(ct, want string) bool {
	mt, p, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return false
	}
	cs, ok := p["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// parseRESTBody parses a JSON object of strings. Errors are *ws.Error
// BadRequest naming the parameter only when its name is safe; they never
// repeat a value.
func parseRESTBody(b []byte) (map[string]string, error) {
	malformed := func(err error) error {
		return &ws.Error{Kind: ws.BadRequest, Message: "body is not a JSON object of string parameters", Err: err}
	}
	if !utf8.Valid(b) {
		return nil, &ws.Error{Kind: ws.BadRequest, Message: "body is not UTF-8"}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	t, err := d.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if t != json.Delim('{') {
		return nil, malformed(nil)
	}
	params := map[string]string{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, _ := t.(string)
		t, err = d.Token()
		if err != nil {
			return nil, malformed(err)
		}
		v, ok := t.(string)
		if !ok {
			return nil, badParam(key, "parameter value must be a JSON string")
		}
		if _, dup := params[key]; dup {
			return nil, badParam(key, "parameter given twice")
		}
		if len(params) == maxParams {
			return nil, &ws.Error{Kind: ws.BadRequest, Message: "too many parameters"}
		}
		params[key] = v
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return nil, malformed(err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, malformed(err)
	}
	return params, nil
}

// restErrorBody is the JSON of a 400 or 404.
type restErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// restError answers err.
func (h *handler) restError(w http.ResponseWriter, err error) {
	status, body := http.StatusServiceUnavailable, restErrorBody{Error: "temporarily unavailable"}
	var we *ws.Error
	switch {
	case errors.Is(err, errUnauthorized), errors.Is(err, errBasicNeedsTLS):
		h.challenge(w)
		status, body = http.StatusUnauthorized, restErrorBody{Error: err.Error()}
	case errors.Is(err, errMethod):
		status, body = http.StatusMethodNotAllowed, restErrorBody{Error: "use POST"}
	case errors.Is(err, errMediaType):
		status, body = http.StatusUnsupportedMediaType, restErrorBody{Error: "Content-Type must be application/json (UTF-8)"}
	case errors.Is(err, errTooLarge):
		status, body = http.StatusRequestEntityTooLarge, restErrorBody{Error: errTooLarge.Error()}
	case errors.As(err, &we) && we.Kind == ws.BadRequest:
		status, body = http.StatusBadRequest, restErrorBody{Error: we.Message, Field: we.Field}
	case errors.As(err, &we) && we.Kind == ws.NotFound:
		status, body = http.StatusNotFound, restErrorBody{Error: we.Message, Field: we.Field}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, status, body)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeJSONRecords writes recs: an array for a List operation, else the
// one record; Out fields only, in op's order, Binary as base64.
func writeJSONRecords(w http.ResponseWriter, op *ws.Operation, recs []ws.Record) {
	var b bytes.Buffer
	if op.List {
		b.WriteByte('[')
	}
	for i, rec := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		first := true
		for _, f := range op.Out {
			v := rec[f.Name]
			if v == "" {
				continue
			}
			if f.Binary {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(f.Name)
			s, _ := json.Marshal(v)
			b.Write(k)
			b.WriteByte(':')
			b.Write(s)
		}
		b.WriteByte('}')
	}
	if op.List {
		b.WriteByte(']')
	}
	b.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// Help is the JSON of GET {prefix}rest/: every operation and its fields.
type Help struct {
	Operations []HelpOperation `json:"operations"`
}

// HelpOperation describes one operation.
type HelpOperation struct {
	Name    string      `json:"name"`
	Section string      `json:"section,omitempty"`
	Doc     string      `json:"doc,omitempty"`
	List    bool        `json:"list"`
	In      []HelpField `json:"in"`
	Out     []HelpField `json:"out"`
}

// HelpField describes one parameter or result field.
type HelpField struct {
	Name     string `json:"name"`
	Required bool   `json:"required,omitempty"`
	Max      int    `json:"max,omitempty"`
	Binary   bool   `json:"binary,omitempty"`
	Doc      string `json:"doc,omitempty"`
}

// helpFields converts fields.
func helpFields(fs []ws.Field) []HelpField {
	out := make([]HelpField, 0, len(fs))
	for _, f := range fs {
		out = append(out, HelpField{Name: f.Name, Required: f.Required, Max: f.Max, Binary: f.Binary, Doc: f.Doc})
	}
	return out
}

// serveHelp answers GET {prefix}rest/.
func (h *handler) serveHelp(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, restErrorBody{Error: "use GET, or POST rest/{operation}"})
		return
	}
	help := Help{Operations: []HelpOperation{}}
	for _, op := range h.reg.Operations() {
		help.Operations = append(help.Operations, HelpOperation{
			Name: op.Name, Section: op.Section, Doc: op.Doc, List: op.List,
			In: helpFields(inFields(op)), Out: helpFields(op.Out),
		})
	}
	writeJSON(w, http.StatusOK, help)
}
