package solo

// Links (spec "Appointments Link", "Microsot Teams Video Call Link for
// Provider", "Appointment Links for the provider and for the patient").
//
// A Connector wrapped by WithVideoLinks fetches, after every appointment create
// or update it delivered (not after a cancel):
//
//	GET /qapi/v1/appointments/{SAID}/provider-link                          providerVisitUrl
//	GET /qapi/v1/appointments/id/type/SAID/value/{SAID}/video-call-links    providerVisitUrl, patientVisitUrl
//	GET /qapi/v1/appointments/{SAID}/msteams-provider-link                  msTeamsProviderVisitUrl (VideoLinkOptions.MSTeams)
//
// and returns them in Result.Attributes, which the delivery runner writes
// onto the stored Appointment as extensions with a valueString:
//
//	urn:fhirbridge:solo:providerLink   provider-link's providerVisitUrl (else video-call-links')
//	urn:fhirbridge:solo:patientLink    video-call-links' patientVisitUrl
//	urn:fhirbridge:solo:msTeamsLink    msteams-provider-link's msTeamsProviderVisitUrl
//	urn:fhirbridge:solo:linksError     set only when a fetch failed: which call and Solo's status
//
// Failure policy: the appointment is already created (or updated) when the
// links are fetched, so a failed fetch never fails the delivery — failing
// it would retry a create that succeeded. The links that could be read are
// kept, the failure is recorded in linksError (call names and status
// codes only), and every later update of the Appointment fetches them all
// again (the runner replaces all urn:fhirbridge:solo: extensions with the
// latest answer).

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// The attribute names of the links (extension urn:fhirbridge:solo:<name>).
const (
	AttrProviderLink = "providerLink"
	AttrPatientLink  = "patientLink"
	AttrMSTeamsLink  = "msTeamsLink"
	AttrLinksError   = "linksError"
)

// VideoLinkOptions configures the links fetched after an appointment is
// delivered.
type VideoLinkOptions struct {
	// MSTeams also fetches the MS Teams provider link.
	MSTeams bool
	// TeamsAuthToken is sent as the Teams-Auth-Token header of the MS
	// Teams call (the spec lists it); "" sends none.
	TeamsAuthToken Secret
}

// VideoLinks are the video links of one appointment; "" when not known.
type VideoLinks struct {
	Provider, Patient, MSTeams string
}

// FetchVideoLinks reads the links of the appointment with SAID said. It makes
// every call even when one fails, and returns what it read with the first
// error.
func (c *Connector) FetchVideoLinks(ctx context.Context, said string, opt VideoLinkOptions) (VideoLinks, error) {
	var (
		l     VideoLinks
		first error
	)
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	var pl struct {
		ProviderVisitURL string `json:"providerVisitUrl"`
	}
	if err := c.extGetJSON(ctx, connectors.PathOf("/qapi/v1/appointments/{said}/provider-link", said), &pl); err != nil {
		keep(fmt.Errorf("reading provider link: %w", err))
	}
	var vl struct {
		ProviderVisitURL string `json:"providerVisitUrl"`
		PatientVisitURL  string `json:"patientVisitUrl"`
	}
	if err := c.extGetJSON(ctx, connectors.PathOf("/qapi/v1/appointments/id/type/SAID/value/{said}/video-call-links", said), &vl); err != nil {
		keep(fmt.Errorf("reading video call links: %w", err))
	}
	l.Provider, l.Patient = pl.ProviderVisitURL, vl.PatientVisitURL
	if l.Provider == "" {
		l.Provider = vl.ProviderVisitURL
	}
	if opt.MSTeams {
		r := extRequest{method: http.MethodGet, path: connectors.PathOf("/qapi/v1/appointments/{said}/msteams-provider-link", said)}
		if opt.TeamsAuthToken != "" {
			r.header = map[string]string{"Teams-Auth-Token": opt.TeamsAuthToken.Reveal()}
		}
		var tl struct {
			URL string `json:"msTeamsProviderVisitUrl"`
		}
		if err := c.extGetJSONWith(ctx, r, &tl); err != nil {
			keep(fmt.Errorf("reading MS Teams provider link: %w", err))
		}
		l.MSTeams = tl.URL
	}
	return l, first
}

// VideoLinker is a Connector that also fetches an appointment's links after
// delivering it (see WithVideoLinks). It is safe for concurrent use.
type VideoLinker struct {
	*Connector
	opt VideoLinkOptions
}

var _ connectors.Connector = (*VideoLinker)(nil)

// WithVideoLinks returns c wrapped so that every appointment create or update
// it delivers also fetches the appointment's links into Result.Attributes.
func WithVideoLinks(c *Connector, opt VideoLinkOptions) *VideoLinker {
	return &VideoLinker{Connector: c, opt: opt}
}

// Deliver delivers d through the Connector and, for an appointment create
// or update that succeeded, adds the links. A failure to fetch them is
// recorded in Attributes["linksError"], never returned.
func (l *VideoLinker) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	res, err := l.Connector.Deliver(ctx, d)
	if err != nil || d.Flow != FlowAppointment || d.Op == connectors.Cancel || res.VendorID == "" {
		return res, err
	}
	links, lerr := l.FetchVideoLinks(ctx, res.VendorID, l.opt)
	attrs := make(map[string]string, len(res.Attributes)+4)
	for k, v := range res.Attributes {
		attrs[k] = v
	}
	for k, v := range map[string]string{AttrProviderLink: links.Provider, AttrPatientLink: links.Patient, AttrMSTeamsLink: links.MSTeams} {
		if v != "" {
			attrs[k] = v
		}
	}
	if lerr != nil {
		attrs[AttrLinksError] = videoLinksReason(lerr)
	}
	res.Attributes = attrs
	return res, nil
}

// linksReason is the recorded form of a links failure: the error's text,
// which names calls, paths with Solo ids, and statuses only.
func videoLinksReason(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.ToValidUTF8(s, "?")
}

// extGetJSONWith is extGetJSON for a request with headers.
func (c *Connector) extGetJSONWith(ctx context.Context, r extRequest, v any) error {
	_, data, err := c.extDo(ctx, r)
	if err != nil {
		return err
	}
	if err := extUnmarshal(data, v); err != nil {
		return connectors.Transiently(fmt.Errorf("reading answer to GET %s: %w", r.path, ErrBadAnswer), 0)
	}
	return nil
}
