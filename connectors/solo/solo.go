// Package solo delivers patients and appointments to Teladoc Health Solo
// through its External API (vendor-docs/teladoc-solo-external-api.txt).
//
// Flows served:
//
//	solo/patient      create  POST /qapi/v1/patients                      (body "id" = FHIR id unless mapped)
//	                  update  PUT  /qapi/v1/patients/{patient id}
//	solo/appointment  create  POST /qapi/v1/patients/{patient id}/appointments
//	                  update  PUT  /qapi/v1/appointments/{SAID}
//	                  cancel  PUT  /qapi/v1/appointments/{SAID}  {"status":"cancelled"}
//
// Solo's create-patient call requires an "id" chosen by the caller; the
// plain /qapi/v1/patients/{patient_id} paths address a patient by that id,
// and the SPID (Solo's own number) has its own /id/type/SPID/value/ paths.
// The connector therefore keeps the caller's patient id as the vendor id
// of a patient (stable, known before the create, so a retry can look it
// up) and reports the SPID from the create answer as Attributes["spid"].
// An appointment's vendor id is its SAID; its visitUrl is
// Attributes["visitUrl"].
//
// Before a create that may repeat an earlier attempt (Delivery.Fresh is
// false) the connector looks the record up: GET /qapi/v1/patients/{id}
// for a patient, GET /qapi/v1/appointments/{externalId} for an
// appointment (see lookup.go for what the spec does and does not promise).
package solo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Name is the registry name of the connector.
const Name = "solo"

func init() {
	connectors.Register(connectors.Factory{
		Name:    Name,
		Summary: "Teladoc Health Solo External API: patients and appointments",
		New:     connectors.Typed(Name, New),
	})
}

// DefaultTimeout bounds one HTTP exchange when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config configures the Solo connector.
type Config struct {
	// BaseURL is the API endpoint, e.g. https://demo.visitnow.org; http
	// or https only, no query or fragment. Paths are appended to it.
	BaseURL string `json:"base_url" yaml:"base_url"`
	// APIKey is sent in the Api-Key header. It prints redacted.
	APIKey Secret `json:"api_key" yaml:"api_key"`
	// Timeout bounds one HTTP exchange (connect to last body byte);
	// 0 means DefaultTimeout.
	Timeout time.Duration `json:"timeout" yaml:"timeout"`
}

// Connector is the Solo connector. It is safe for concurrent use.
type Connector struct {
	base   *url.URL
	key    Secret
	client *http.Client
}

// Format prints the connector for every fmt verb as its base URL only, so
// %+v and %#v of a Connector (or a struct holding one) never show the key.
// The receiver is a value so that a copied Connector prints the same way:
// fmt would otherwise print its unexported fields by reflection.
func (c Connector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "solo.Connector{%s}", c.base.Redacted())
}

var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Checker   = (*Connector)(nil)
)

// New validates cfg and returns a connector. The errors name the field at
// fault and never its value when it is the key.
func New(cfg Config) (*Connector, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, errors.New("configuring solo: base_url is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("configuring solo: base_url must be an http or https URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("configuring solo: base_url needs a host and no user info, query or fragment")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("configuring solo: api_key is empty")
	}
	if strings.ContainsAny(string(cfg.APIKey), "\r\n") {
		return nil, errors.New("configuring solo: api_key contains a line break")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("configuring solo: timeout is negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return &Connector{
		base: u,
		key:  cfg.APIKey,
		client: &http.Client{
			Transport: connectors.Transport(nil),
			Timeout:   cfg.Timeout,
			// A redirected POST could be replayed elsewhere: report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}
