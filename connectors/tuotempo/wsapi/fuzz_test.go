package wsapi

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// safeError is the shape of every parser error: fixed words and safe
// names, nothing copied from the input.
var safeError = regexp.MustCompile(`^[A-Za-z0-9_ :,.()/-]{1,120}$`)

// checkParseError fails when err is not a value-free *ws.Error or
// *soapFault.
func checkParseError(t *testing.T, err error) {
	var (
		we *ws.Error
		sf *soapFault
	)
	switch {
	case errors.As(err, &we):
		if we.Kind != ws.BadRequest && we.Kind != ws.NotFound {
			t.Fatalf("parser error of kind %d", we.Kind)
		}
		if !safeError.MatchString(we.Message) || (we.Field != "" && safeName(we.Field) == "") {
			t.Fatalf("unsafe error %q field %q", we.Message, we.Field)
		}
	case errors.As(err, &sf):
		if !safeError.MatchString(sf.message) {
			t.Fatalf("unsafe fault %q", sf.message)
		}
	default:
		t.Fatalf("parser error %T %v", err, err)
	}
}

func FuzzSOAPRequest(f *testing.F) {
	f.Add([]byte(soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "d1")))
	f.Add([]byte(soapBody("listThings", "CENTER_LID", "c1", "FROM_DAY", "01/02/2026", "NAME", "<&>")))
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h s:mustUnderstand="1"/></s:Header><s:Body/></s:Envelope>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-16"?><x/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		op, params, err := parseEnvelope(b)
		if err != nil {
			checkParseError(t, err)
			return
		}
		if safeName(op) == "" {
			t.Fatalf("operation %q accepted", op)
		}
		if len(params) > maxParams {
			t.Fatalf("%d parameters", len(params))
		}
		if strings.Contains(string(b), "<!") && strings.Contains(strings.ToUpper(string(b)), "<!DOCTYPE") {
			t.Fatalf("a DTD was accepted")
		}
	})
}

func FuzzRESTRequest(f *testing.F) {
	f.Add([]byte(`{"CENTER_LID":"c1","DOWNLOAD_LID":"d1"}`))
	f.Add([]byte(`{"A":1}`))
	f.Add([]byte(`{"A":"x","A":"y"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"A":"\ud800"} x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		params, err := parseRESTBody(b)
		if err != nil {
			checkParseError(t, err)
			return
		}
		if len(params) > maxParams {
			t.Fatalf("%d parameters", len(params))
		}
	})
}

func TestRESTBodyNotUTF8(t *testing.T) {
	_, err := parseRESTBody([]byte("{\"A\":\"\xe9\"}"))
	if ws.KindOf(err) != ws.BadRequest {
		t.Errorf("Latin-1 body: %v", err)
	}
}
