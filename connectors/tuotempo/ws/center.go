package ws

import "github.com/fhirbridge/fhirbridge/connectors"

// Center is one center tuOtempO books for (guide B.3): an item of
// connectors.tuotempo.online.centers. GetCenters lists them; every call
// names one (CENTER_LID) and must be authenticated with its credentials.
type Center struct {
	// LID is CENTER_LID, the center's id in the bridge. Required, unique.
	LID string `yaml:"lid"`
	// Name is CENTER_NAME. Required.
	Name string `yaml:"name"`
	// Description, Address, Phone and WebsiteURL are GetCenters' optional
	// fields.
	Description string `yaml:"description"`
	Address     string `yaml:"address"`
	Phone       string `yaml:"phone"`
	WebsiteURL  string `yaml:"website_url"`
	// TimeZone is the IANA zone of the center's dates and times (default
	// the online section's, else Europe/Madrid).
	TimeZone string `yaml:"timezone"`
	// Locations are the FHIR Location ids of the center: a Schedule
	// belongs to the center when one of its actors is one of them. Empty:
	// every Schedule (a single-center site).
	Locations []string `yaml:"locations"`
	// Token, when set, is the bearer token tuOtempO sends for this center
	// ("Authorization: Bearer <token>").
	Token connectors.Secret `yaml:"token"`
	// Basic, when set, is the HTTP Basic user and password tuOtempO sends
	// for this center (over TLS only, unless the listener is loopback).
	Basic *Basic `yaml:"basic"`
}

// Basic is an HTTP Basic credential.
type Basic struct {
	User     string            `yaml:"user"`
	Password connectors.Secret `yaml:"password"`
}
