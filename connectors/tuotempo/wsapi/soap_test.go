package wsapi

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// soapAnswer is a parsed SOAP answer: the fault or the response's results.
type soapAnswer struct {
	Body struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Kind   string `xml:"detail>error>kind"`
			Field  string `xml:"detail>error>field"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		Response struct {
			XMLName xml.Name
			Results []struct {
				XMLName xml.Name
				Fields  []struct {
					XMLName xml.Name
					Value   string `xml:",chardata"`
				} `xml:",any"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

func parseAnswer(t *testing.T, s string) soapAnswer {
	t.Helper()
	var a soapAnswer
	if err := xml.Unmarshal([]byte(s), &a); err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, s)
	}
	return a
}

func TestSOAPHappy(t *testing.T) {
	e := serve(t, true, Options{})
	tok := auth{token: "tok-1"}
	b64 := base64.StdEncoding.EncodeToString([]byte(binaryContent))
	cases := []struct {
		name, op, body string
		action         string
		want           [][]string // per result: FIELD=value in order
	}{
		{"list", "listThings", soapBody("listThings", "CENTER_LID", "c1", "FROM_DAY", "01/02/2026", "NAME", "ab"), Namespace + "#listThings",
			[][]string{{"THING_LID=t1", "THING_NAME=first <&> ab", "CENTER=c1"}, {"THING_LID=t2", "CENTER=c1"}}},
		{"quoted SOAPAction, empty list", "listThings", soapBody("listThings", "CENTER_LID", "c1", "FROM_DAY", "none"), `"` + Namespace + `#listThings"`, [][]string{}},
		{"no SOAPAction, unqualified parameters", "listThings",
			`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><listThings xmlns="urn:fhirbridge:tuotempo:ws"><CENTER_LID xmlns="">c1</CENTER_LID><FROM_DAY xmlns="">none</FROM_DAY></listThings></Body></Envelope>`, "", [][]string{}},
		{"single with binary", "getDoc", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "d1"), `""`,
			[][]string{{"DOWNLOAD_LID=d1", "DOWNLOAD_CONTENT=" + b64, "NOTE=ok"}}},
		{"header without mustUnderstand", "getDoc",
			`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x:Trace xmlns:x="urn:x">abc<x:y/></x:Trace></s:Header><s:Body><getDoc xmlns="urn:fhirbridge:tuotempo:ws"><CENTER_LID>c1</CENTER_LID><DOWNLOAD_LID>d1</DOWNLOAD_LID></getDoc></s:Body></s:Envelope>`, "",
			[][]string{{"DOWNLOAD_LID=d1", "DOWNLOAD_CONTENT=" + b64, "NOTE=ok"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.action != "" {
				hdr["SOAPAction"] = tc.action
			}
			resp, got := e.post(t, "soap", "text/xml; charset=utf-8", tc.body, tok, hdr)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
				t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), got)
			}
			a := parseAnswer(t, got)
			if a.Body.Fault != nil || a.Body.Response.XMLName != (xml.Name{Space: Namespace, Local: tc.op + "Response"}) {
				t.Fatalf("not a %sResponse: %s", tc.op, got)
			}
			var results [][]string
			for _, r := range a.Body.Response.Results {
				if r.XMLName != (xml.Name{Space: Namespace, Local: tc.op + "Result"}) {
					t.Errorf("result element %v", r.XMLName)
				}
				var fs []string
				for _, f := range r.Fields {
					if f.XMLName.Space != Namespace {
						t.Errorf("field %v outside the namespace", f.XMLName)
					}
					fs = append(fs, f.XMLName.Local+"="+f.Value)
				}
				results = append(results, fs)
			}
			if !slices.EqualFunc(results, tc.want, slices.Equal) {
				t.Errorf("results %q, want %q", results, tc.want)
			}
		})
	}
}

func TestSOAPErrors(t *testing.T) {
	e := serve(t, true, Options{})
	tok := auth{token: "tok-1"}
	env := func(inner string) string {
		return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:fhirbridge:tuotempo:ws"><s:Body>` + inner + `</s:Body></s:Envelope>`
	}
	withHeader := func(header string) string {
		return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>` + header + `</s:Header><s:Body/></s:Envelope>`
	}
	deep := strings.Repeat("<x>", 20) + strings.Repeat("</x>", 20)
	many := strings.Repeat("<x/>", 1100)
	cases := []struct {
		name, ctype, action, body string
		status                    int
		code, kind, field, msg    string
	}{
		{"unknown parameter", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "d", "PATIENT", patientValue), 500, "soap:Client", "BadRequest", "PATIENT", "unknown parameter"},
		{"required missing", "", "", soapBody("getDoc", "CENTER_LID", "c1"), 500, "soap:Client", "BadRequest", "DOWNLOAD_LID", "required parameter missing"},
		{"over Max", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", strings.Repeat("é", 51)), 500, "soap:Client", "BadRequest", "DOWNLOAD_LID", "longer than 50 characters"},
		{"duplicate", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "a", "DOWNLOAD_LID", "b"), 500, "soap:Client", "BadRequest", "DOWNLOAD_LID", "parameter given twice"},
		{"parameter with children", "", "", env(`<t:getDoc><t:CENTER_LID>c1</t:CENTER_LID><t:DOWNLOAD_LID><t:x>` + patientValue + `</t:x></t:DOWNLOAD_LID></t:getDoc>`), 500, "soap:Client", "BadRequest", "DOWNLOAD_LID", "parameter must be text"},
		{"operation BadRequest", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "bad"), 500, "soap:Client", "BadRequest", "DOWNLOAD_LID", "not a download id"},
		{"operation NotFound", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "missing"), 500, "soap:Client", "NotFound", "DOWNLOAD_LID", "no such download"},
		{"unknown operation", "", "", soapBody("nothing", "CENTER_LID", "c1"), 500, "soap:Client", "NotFound", "", "unknown operation"},
		{"operation outside the namespace", "", "", env(`<getDoc xmlns="urn:other"><CENTER_LID>c1</CENTER_LID></getDoc>`), 500, "soap:Client", "NotFound", "", "unknown operation"},
		{"SOAPAction of another operation", "", Namespace + "#listThings", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "d1"), 500, "soap:Client", "BadRequest", "", "SOAPAction does not match the operation"},
		{"Unavailable", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "busy"), 500, "soap:Server", "Unavailable", "", "temporarily unavailable"},
		{"internal error", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "boom"), 500, "soap:Server", "Unavailable", "", "temporarily unavailable"},
		{"panic", "", "", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "panic"), 500, "soap:Server", "Unavailable", "", "temporarily unavailable"},
		{"DTD", "", "", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "` + patientValue + `">]>` + soapBody("getDoc", "CENTER_LID", "c1")[len(`<?xml version="1.0" encoding="UTF-8"?>`):], 500, "soap:Client", "BadRequest", "", "DTDs and declarations are not allowed"},
		{"undefined entity", "", "", env(`<t:getDoc><t:CENTER_LID>&p;</t:CENTER_LID></t:getDoc>`), 500, "soap:Client", "BadRequest", "", "malformed XML"},
		{"too deep", "", "", withHeader(deep), 500, "soap:Client", "BadRequest", "", "envelope too deep or too large"},
		{"too many elements", "", "", withHeader(many), 500, "soap:Client", "BadRequest", "", "envelope too deep or too large"},
		{"not UTF-8", "", "", env("<t:getDoc><t:CENTER_LID>c\xe91</t:CENTER_LID></t:getDoc>"), 500, "soap:Client", "BadRequest", "", "body is not UTF-8"},
		{"declared Latin-1", "", "", `<?xml version="1.0" encoding="ISO-8859-1"?>` + env("<t:getDoc/>"), 500, "soap:Client", "BadRequest", "", "malformed XML"},
		{"SOAP 1.2", "", "", `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`, 500, "soap:VersionMismatch", "", "", "only SOAP 1.1 envelopes are accepted"},
		{"mustUnderstand header", "", "", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x:Sec xmlns:x="urn:x" s:mustUnderstand="1"/></s:Header><s:Body/></s:Envelope>`, 500, "soap:MustUnderstand", "", "", "a mandatory header is not understood"},
		{"two operations", "", "", env(`<t:getDoc/><t:getDoc/>`), 500, "soap:Client", "BadRequest", "", "the Body holds more than one element"},
		{"no operation", "", "", env(``), 500, "soap:Client", "BadRequest", "", "the Body holds no operation"},
		{"not an envelope", "", "", `<getDoc/>`, 500, "soap:Client", "BadRequest", "", "not a SOAP envelope"},
		{"truncated", "", "", soapBody("getDoc", "CENTER_LID", "c1")[:120], 500, "soap:Client", "BadRequest", "", "malformed XML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "text/xml; charset=utf-8"
			}
			hdr := map[string]string{}
			if tc.action != "" {
				hdr["SOAPAction"] = tc.action
			}
			resp, got := e.post(t, "soap", ctype, tc.body, tok, hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			f := parseAnswer(t, got).Body.Fault
			if f == nil {
				t.Fatalf("no fault: %s", got)
			}
			if f.Code != tc.code || f.Kind != tc.kind || f.Field != tc.field || f.String != tc.msg {
				t.Errorf("fault %+v, want %s %s %s %q", *f, tc.code, tc.kind, tc.field, tc.msg)
			}
			if strings.Contains(got, patientValue) {
				t.Errorf("fault echoes a value: %s", got)
			}
		})
	}
	// Transport-level refusals.
	for _, tc := range []struct {
		name, method, ctype, body string
		status                    int
	}{
		{"JSON to SOAP", "POST", "application/json", `{}`, 415},
		{"SOAP 1.2 media type", "POST", "application/soap+xml", soapBody("getDoc"), 415},
		{"PUT", "PUT", "text/xml", soapBody("getDoc"), 405},
		{"GET without ?wsdl", "GET", "", "", 400},
		{"too large", "POST", "text/xml", soapBody("getDoc", "CENTER_LID", strings.Repeat("a", MaxBody)), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.base+"soap", strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			tok.set(req)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	if e.counter(t, "getDoc", "soap", "bad_request") == 0 || e.counter(t, "unknown", "soap", "not_found") == 0 || e.counter(t, "unknown", "soap", "refused") == 0 {
		t.Errorf("SOAP outcomes not counted")
	}
}

// wsdlDoc is the part of a WSDL the test checks.
type wsdlDoc struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/wsdl/ definitions"`
	TNS     string   `xml:"targetNamespace,attr"`
	Schema  struct {
		TNS      string `xml:"targetNamespace,attr"`
		Elements []struct {
			Name   string `xml:"name,attr"`
			Fields []struct {
				Name      string `xml:"name,attr"`
				Type      string `xml:"type,attr"`
				MinOccurs string `xml:"minOccurs,attr"`
				MaxOccurs string `xml:"maxOccurs,attr"`
				MaxLength struct {
					Value string `xml:"value,attr"`
				} `xml:"simpleType>restriction>maxLength"`
			} `xml:"complexType>sequence>element"`
		} `xml:"element"`
		Types []struct {
			Name   string `xml:"name,attr"`
			Fields []struct {
				Name string `xml:"name,attr"`
				Type string `xml:"type,attr"`
			} `xml:"sequence>element"`
		} `xml:"complexType"`
	} `xml:"types>schema"`
	Messages []struct {
		Name string `xml:"name,attr"`
	} `xml:"message"`
	PortOps []struct {
		Name string `xml:"name,attr"`
	} `xml:"portType>operation"`
	BindOps []struct {
		Name   string `xml:"name,attr"`
		Action struct {
			SOAPAction string `xml:"soapAction,attr"`
		} `xml:"operation"`
	} `xml:"binding>operation"`
	Address struct {
		Location string `xml:"location,attr"`
	} `xml:"service>port>address"`
}

func TestWSDL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tls     bool
		opt     Options
		hdr     map[string]string
		address func(e *env) string
	}{
		{"from the request over TLS", true, Options{}, nil, func(e *env) string { return e.base + "soap" }},
		{"from the request over HTTP", false, Options{}, nil, func(e *env) string { return e.base + "soap" }},
		{"behind a TLS proxy", false, Options{}, map[string]string{"X-Forwarded-Proto": "https"}, func(e *env) string {
			return "https://" + strings.TrimPrefix(e.base, "http://") + "soap"
		}},
		{"public URL", false, Options{PublicURL: "https://bridge.example/tt/ws"}, nil, func(*env) string { return "https://bridge.example/tt/ws/soap" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := serve(t, tc.tls, tc.opt)
			req, _ := http.NewRequest("GET", e.base+"soap?wsdl", nil)
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var w wsdlDoc
			if err := xml.NewDecoder(resp.Body).Decode(&w); err != nil {
				t.Fatalf("WSDL is not well-formed: %v", err)
			}
			if w.TNS != Namespace || w.Schema.TNS != Namespace {
				t.Errorf("namespaces %q %q", w.TNS, w.Schema.TNS)
			}
			if got := w.Address.Location; got != tc.address(e) {
				t.Errorf("soap:address %q, want %q", got, tc.address(e))
			}
			var port, bind, msgs []string
			for _, o := range w.PortOps {
				port = append(port, o.Name)
			}
			for _, o := range w.BindOps {
				bind = append(bind, o.Name+" "+o.Action.SOAPAction)
			}
			for _, m := range w.Messages {
				msgs = append(msgs, m.Name)
			}
			if want := []string{"getDoc", "listThings"}; !slices.Equal(port, want) {
				t.Errorf("portType operations %v", port)
			}
			if want := []string{"getDoc " + Namespace + "#getDoc", "listThings " + Namespace + "#listThings"}; !slices.Equal(bind, want) {
				t.Errorf("binding operations %v", bind)
			}
			if want := []string{"getDocRequest", "getDocResponse", "listThingsRequest", "listThingsResponse"}; !slices.Equal(msgs, want) {
				t.Errorf("messages %v", msgs)
			}
			els := map[string][]string{}
			for _, el := range w.Schema.Elements {
				for _, f := range el.Fields {
					els[el.Name] = append(els[el.Name], f.Name+"|"+f.Type+"|"+f.MinOccurs+"|"+f.MaxOccurs+"|"+f.MaxLength.Value)
				}
			}
			want := map[string][]string{
				"listThings":         {"CENTER_LID||1||", "FROM_DAY||1||10", "NAME||0||5"},
				"listThingsResponse": {"listThingsResult|tns:listThingsResult|0|unbounded|"},
				"getDoc":             {"CENTER_LID||1||", "DOWNLOAD_LID||1||50"},
				"getDocResponse":     {"getDocResult|tns:getDocResult|1|1|"},
			}
			for k, v := range want {
				if !slices.Equal(els[k], v) {
					t.Errorf("element %s: %v, want %v", k, els[k], v)
				}
			}
			types := map[string][]string{}
			for _, ct := range w.Schema.Types {
				for _, f := range ct.Fields {
					types[ct.Name] = append(types[ct.Name], f.Name+"|"+f.Type)
				}
			}
			if got := types["getDocResult"]; !slices.Equal(got, []string{"DOWNLOAD_LID|xsd:string", "DOWNLOAD_CONTENT|xsd:base64Binary", "NOTE|xsd:string"}) {
				t.Errorf("getDocResult %v", got)
			}
			if got := types["listThingsResult"]; !slices.Equal(got, []string{"THING_LID|xsd:string", "THING_NAME|xsd:string", "CENTER|xsd:string"}) {
				t.Errorf("listThingsResult %v", got)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	e := serve(t, false, Options{})
	resp, err := e.srv.Client().Get(e.base + "rest/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h Help
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if len(h.Operations) != 2 || h.Operations[0].Name != "getDoc" || !h.Operations[1].List ||
		h.Operations[1].In[0].Name != CenterParam || !h.Operations[0].Out[1].Binary || h.Operations[1].In[1].Max != 10 {
		t.Errorf("help %+v", h)
	}
}
