package server

import (
	"net/http"
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// The $validate operation (R4 Resource-validate): the same strict check as
// every create, update and Bundle, and as `fhirbridge validate`
// (fhir.Validate), without committing anything.

// routeValidate names the $validate routes in metrics and logs.
const routeValidate = "validate" // POST /fhir/$validate, /fhir/{type}/$validate

// validateOpDefinition is the canonical URL of the operation served.
const validateOpDefinition = "http://hl7.org/fhir/OperationDefinition/Resource-validate"

// validate modes of R4 (the mode parameter).
const (
	modeCreate = "create"
	modeUpdate = "update"
	modeDelete = "delete"
)

// validateTarget reports whether segs (the path under /fhir) address
// $validate, and the resource type it validates: "Bundle" for the base
// URL, else the type before "$validate".
func validateTarget(segs []string) (string, bool) {
	switch {
	case len(segs) == 1 && segs[0] == "$validate":
		return "Bundle", true
	case len(segs) == 2 && segs[1] == "$validate":
		return segs[0], true
	}
	return "", false
}

// serveValidate routes a $validate request after the token check and
// format negotiation: POST only, of a served type or Bundle.
func (h *handler) serveValidate(w http.ResponseWriter, r *http.Request, typ string) {
	if !h.allow(w, r, "POST") {
		return
	}
	if typ != "Bundle" && !h.knownType(w, typ) {
		return
	}
	body, e := h.validateOp(w, r, typ)
	if e != nil {
		e.reason = "" // not an ingest: the rejection counters stay as they are
		h.writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// validateOp runs $validate and returns the OperationOutcome to send with
// 200: the issues of fhir.Validate, or one informational issue, when the
// body holds a resource of type typ; else the error of the request.
// Nothing is committed and no idempotency key is looked up or stored.
func (h *handler) validateOp(w http.ResponseWriter, r *http.Request, typ string) ([]byte, *apiError) {
	fail := func(e *apiError) ([]byte, *apiError) { return nil, e }
	qmode, e := queryMode(r)
	if e != nil {
		return fail(e)
	}
	data, e := h.readBody(w, r)
	if e != nil {
		return fail(e)
	}
	release, e := h.slot(r)
	if e != nil {
		return fail(e)
	}
	defer release()
	v, e := h.parse(data)
	if e != nil {
		return fail(e)
	}
	res, pmode, e := operationInput(v, typ)
	if e != nil {
		return fail(e)
	}
	mode := qmode
	switch {
	case pmode != "" && qmode != "" && pmode != qmode:
		return fail(newError(http.StatusBadRequest, "", fhir.CodeInvalid, "mode",
			"mode is given twice (URL and Parameters) with different values"))
	case pmode != "":
		mode = pmode
	}
	if e := checkMode(mode); e != nil {
		return fail(e)
	}
	if res.ResourceType() == "Bundle" {
		if ev := res.Get("entry"); ev != nil && ev.Kind == fhir.Array && len(ev.Items) > h.opt.MaxEntries {
			return fail(newError(http.StatusRequestEntityTooLarge, "", "too-costly", "Bundle.entry",
				"the Bundle has more entries than the server accepts in one request"))
		}
	}
	oo := fhir.Validate(res, "")
	if mode == modeUpdate && res.ResourceType() != "" {
		if id := res.Get("id"); id == nil || id.Kind != fhir.String || id.Str == "" {
			oo = oo.Add(fhir.CodeRequired, res.ResourceType()+".id", "an update (mode=update) needs the resource id")
		}
	}
	release()
	if oo == nil || len(oo.Issues) == 0 {
		oo = &fhir.OperationOutcome{Issues: []fhir.Issue{{Severity: fhir.SeverityInformation,
			Code: "informational", Diagnostics: "no issues found: valid FHIR R4"}}}
	}
	return oo.JSON(), nil
}

// queryMode returns the mode query parameter, and refuses profile, since
// the only definitions checked are the base R4 ones.
func queryMode(r *http.Request) (string, *apiError) {
	q := r.URL.Query()
	if _, ok := q["profile"]; ok {
		return "", errProfile("profile")
	}
	modes := q["mode"]
	switch {
	case len(modes) > 1:
		return "", newError(http.StatusBadRequest, "", fhir.CodeInvalid, "mode", "mode is given more than once")
	case len(modes) == 1 && modes[0] == "":
		return "", newError(http.StatusBadRequest, "", fhir.CodeValue, "mode", "mode is empty")
	case len(modes) == 1:
		return modes[0], nil
	}
	return "", nil
}

// errProfile refuses the profile parameter at expr.
func errProfile(expr string) *apiError {
	return newError(http.StatusBadRequest, "", "not-supported", expr,
		"validation against a profile is not supported; resources are checked against the base FHIR R4 definitions")
}

// checkMode accepts no mode, create and update, and refuses delete (this
// server deletes nothing) and any other value.
func checkMode(mode string) *apiError {
	switch mode {
	case "", modeCreate, modeUpdate:
		return nil
	case modeDelete:
		return newError(http.StatusBadRequest, "", "not-supported", "mode",
			"mode=delete cannot be validated: this server does not support delete")
	}
	return newError(http.StatusBadRequest, "", fhir.CodeValue, "mode", "mode must be create or update")
}

// parametersKeys are the elements a Parameters resource may hold here.
var parametersKeys = map[string]bool{
	"resourceType": true, "id": true, "meta": true, "implicitRules": true, "language": true, "parameter": true,
}

// operationInput returns the resource to validate: the body itself when
// it is of type typ, or the "resource" parameter of a Parameters body
// (with its "mode" parameter). A body of another type is refused with 400,
// as on create; one without resourceType is validated, and fhir.Validate
// reports the missing type.
func operationInput(v *fhir.Value, typ string) (*fhir.Value, string, *apiError) {
	if v.Kind != fhir.Object {
		// the words of fhir.Read, so the CLI and $validate agree here too
		return nil, "", &apiError{status: http.StatusBadRequest, oo: fhir.FromError(
			&fhir.SyntaxError{Line: 1, Col: 1, Msg: "a resource must be a JSON object"})}
	}
	switch rt := v.ResourceType(); rt {
	case typ, "":
		return v, "", nil
	case "Parameters":
		return parametersInput(v, typ)
	}
	return nil, "", newError(http.StatusBadRequest, "", fhir.CodeInvalid, "resourceType",
		"resourceType does not match the URL")
}

// parametersInput reads the parameters of $validate from a Parameters
// resource: exactly one "resource", at most one "mode" (valueCode); no
// "profile" and no other parameter.
func parametersInput(v *fhir.Value, typ string) (*fhir.Value, string, *apiError) {
	bad := func(code, expr, diag string) (*fhir.Value, string, *apiError) {
		return nil, "", newError(http.StatusBadRequest, "", code, expr, diag)
	}
	for _, m := range v.Members {
		if !parametersKeys[m.Key] {
			return bad(fhir.CodeStructure, "Parameters", "unexpected element in the Parameters of $validate")
		}
	}
	params := v.Get("parameter")
	if params == nil || params.Kind != fhir.Array {
		return bad(fhir.CodeRequired, "Parameters.parameter", "the Parameters of $validate need a parameter array")
	}
	var res *fhir.Value
	mode := ""
	for i, p := range params.Items {
		path := "Parameters.parameter[" + strconv.Itoa(i) + "]"
		if p == nil || p.Kind != fhir.Object {
			return bad(fhir.CodeStructure, path, "a parameter must be a JSON object")
		}
		name := p.Get("name")
		if name == nil || name.Kind != fhir.String {
			return bad(fhir.CodeRequired, path+".name", "a parameter needs a name")
		}
		var value string // the one value element the parameter must have
		switch name.Str {
		case "resource":
			value = "resource"
		case "mode":
			value = "valueCode"
		case "profile":
			return nil, "", errProfile(path)
		default:
			return bad("not-supported", path+".name", "$validate takes the parameters resource and mode only")
		}
		for _, m := range p.Members {
			if m.Key != "name" && m.Key != value {
				return bad(fhir.CodeStructure, path, "unexpected element in a parameter of $validate")
			}
		}
		val := p.Get(value)
		switch {
		case val == nil:
			return bad(fhir.CodeRequired, path+"."+value, "this parameter needs its value")
		case value == "resource" && res != nil:
			return bad(fhir.CodeInvalid, path, "the resource parameter is given more than once")
		case value == "resource" && val.Kind != fhir.Object:
			return bad(fhir.CodeStructure, path+".resource", "the resource parameter must hold a JSON object")
		case value == "resource":
			res = val
		case mode != "":
			return bad(fhir.CodeInvalid, path, "the mode parameter is given more than once")
		case val.Kind != fhir.String || val.Str == "":
			return bad(fhir.CodeValue, path+".valueCode", "mode must be a code")
		default:
			mode = val.Str
		}
	}
	if res == nil {
		return bad(fhir.CodeRequired, "Parameters.parameter", "the Parameters of $validate need a resource parameter")
	}
	if rt := res.ResourceType(); rt != typ && rt != "" {
		return bad(fhir.CodeInvalid, "Parameters.parameter.resource.resourceType", "resourceType does not match the URL")
	}
	return res, mode, nil
}

// validateOperation is the CapabilityStatement operation entry of
// $validate (rest.operation and rest.resource.operation), with doc as its
// documentation when not "".
func validateOperation(doc string) *fhir.Value {
	op := fhir.NewObject()
	op.Set("name", fhir.NewString("validate"))
	op.Set("definition", fhir.NewString(validateOpDefinition))
	if doc != "" {
		op.Set("documentation", fhir.NewString(doc))
	}
	return op
}

// addValidate advertises $validate in a CapabilityStatement rest entry:
// on every served type (rest.resource.operation), and at the base URL
// (rest.operation), whose documentation says it validates Bundles, also
// at /fhir/Bundle/$validate. Bundle gets no rest.resource entry of its
// own, since no interaction is served on it.
func addValidate(rest *fhir.Value, served map[string]bool) {
	const typeDoc = "POST [type]/$validate with the resource, or Parameters with resource and mode " +
		"(create or update); answers 200 with an OperationOutcome and commits nothing"
	for _, res := range rest.Get("resource").Items {
		if served[res.GetString("type")] {
			res.Set("operation", fhir.NewArray(validateOperation(typeDoc)))
		}
	}
	rest.Set("operation", fhir.NewArray(validateOperation(
		"POST /fhir/$validate (or /fhir/Bundle/$validate) with a Bundle, or Parameters holding one; "+
			"answers 200 with an OperationOutcome and commits nothing")))
}
