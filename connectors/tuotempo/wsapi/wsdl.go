package wsapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// serveWSDL answers GET {prefix}soap?wsdl.
func (h *handler) serveWSDL(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(WSDL(h.reg.Operations(), h.soapAddress(r))))
}

// soapAddress is the URL of the SOAP endpoint for the WSDL.
func (h *handler) soapAddress(r *http.Request) string {
	if h.opt.PublicURL != "" {
		return h.opt.PublicURL + "soap"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if safeHost(host) == "" {
		host = "localhost"
	}
	return (&url.URL{Scheme: scheme, Host: host, Path: h.opt.Prefix + "soap"}).String()
}

// safeHost returns host when it holds only host-name characters.
func safeHost(host string) string {
	if host == "" || len(host) > 255 {
		return ""
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]_", c)) {
			return ""
		}
	}
	return host
}

// WSDL renders the WSDL 1.1 of ops (document/literal wrapped, SOAP 1.1
// over HTTP) with the endpoint at address. Operations whose name is not a
// plain identifier are left out (SOAP cannot carry them either).
func WSDL(ops []*ws.Operation, address string) string {
	var types, msgs, port, bind strings.Builder
	for _, op := range ops {
		if safeName(op.Name) == "" {
			continue
		}
		n := op.Name
		// Request wrapper.
		types.WriteString(`<xsd:element name="` + n + `">` + doc(op.Doc) + `<xsd:complexType><xsd:sequence>`)
		for _, f := range inFields(op) {
			if safeName(f.Name) == "" {
				continue
			}
			minOccurs := "0"
			if f.Required {
				minOccurs = "1"
			}
			types.WriteString(`<xsd:element name="` + f.Name + `" minOccurs="` + minOccurs + `">` + doc(f.Doc))
			if f.Max > 0 {
				types.WriteString(`<xsd:simpleType><xsd:restriction base="xsd:string"><xsd:maxLength value="` + strconv.Itoa(f.Max) + `"/></xsd:restriction></xsd:simpleType>`)
			} else {
				types.WriteString(`<xsd:simpleType><xsd:restriction base="xsd:string"/></xsd:simpleType>`)
			}
			types.WriteString(`</xsd:element>`)
		}
		types.WriteString(`</xsd:sequence></xsd:complexType></xsd:element>`)
		// Result record and response wrapper.
		types.WriteString(`<xsd:complexType name="` + n + `Result"><xsd:sequence>`)
		for _, f := range op.Out {
			if safeName(f.Name) == "" {
				continue
			}
			typ := "xsd:string"
			if f.Binary {
				typ = "xsd:base64Binary"
			}
			types.WriteString(`<xsd:element name="` + f.Name + `" type="` + typ + `" minOccurs="0">` + doc(f.Doc) + `</xsd:element>`)
		}
		types.WriteString(`</xsd:sequence></xsd:complexType>`)
		occurs := `minOccurs="1" maxOccurs="1"`
		if op.List {
			occurs = `minOccurs="0" maxOccurs="unbounded"`
		}
		types.WriteString(`<xsd:element name="` + n + `Response"><xsd:complexType><xsd:sequence><xsd:element name="` + n + `Result" type="tns:` + n + `Result" ` + occurs + `/></xsd:sequence></xsd:complexType></xsd:element>`) // not a URL path: XML

		msgs.WriteString(`<wsdl:message name="` + n + `Request"><wsdl:part name="parameters" element="tns:` + n + `"/></wsdl:message>`)
		msgs.WriteString(`<wsdl:message name="` + n + `Response"><wsdl:part name="parameters" element="tns:` + n + `Response"/></wsdl:message>`)

		port.WriteString(`<wsdl:operation name="` + n + `">`)
		if op.Doc != "" {
			port.WriteString(`<wsdl:documentation>` + escape(op.Doc) + `</wsdl:documentation>`)
		}
		port.WriteString(`<wsdl:input message="tns:` + n + `Request"/><wsdl:output message="tns:` + n + `Response"/></wsdl:operation>`)

		bind.WriteString(`<wsdl:operation name="` + n + `"><soap:operation soapAction="` + Namespace + `#` + n + `" style="document"/>` +
			`<wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>`)
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="TuotempoWS" targetNamespace="` + Namespace + `" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="` + Namespace + `">` +
		`<wsdl:documentation>tuOtempO's web services as fhirbridge serves them (the bridge is tuOtempO's WSClient).</wsdl:documentation>` +
		`<wsdl:types><xsd:schema targetNamespace="` + Namespace + `" elementFormDefault="qualified">` + types.String() + `</xsd:schema></wsdl:types>` +
		msgs.String() +
		`<wsdl:portType name="TuotempoPortType">` + port.String() + `</wsdl:portType>` +
		`<wsdl:binding name="TuotempoBinding" type="tns:TuotempoPortType"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>` + bind.String() + `</wsdl:binding>` +
		`<wsdl:service name="TuotempoService"><wsdl:port name="TuotempoPort" binding="tns:TuotempoBinding"><soap:address location="` + escapeAttr(address) + `"/></wsdl:port></wsdl:service>` +
		"</wsdl:definitions>\n"
}

// doc renders an xsd:annotation, or nothing for an empty text.
func doc(s string) string {
	if s == "" {
		return ""
	}
	return `<xsd:annotation><xsd:documentation>` + escape(s) + `</xsd:documentation></xsd:annotation>`
}

// escapeAttr escapes s for a double-quoted attribute.
func escapeAttr(s string) string { return escape(s) }
