package config

import (
	"errors"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

// RateSetting is a delivery rate as written in the file ("10/s",
// "600/min", see delivery.ParseRate). A malformed one is kept aside
// while the file is read and refused by Validate, whose error names its
// path (delivery.flows.NAME.rate): the YAML reader cannot name the map
// key a value sits under.
type RateSetting struct {
	delivery.Rate
	bad error // why the text was refused, nil if it was not
}

// UnmarshalYAML reads a rate from a YAML string.
func (r *RateSetting) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		*r = RateSetting{bad: errors.New("want a string such as 10/s")}
		return nil
	}
	return r.UnmarshalText([]byte(s))
}

// UnmarshalText reads a rate from text (see delivery.ParseRate).
func (r *RateSetting) UnmarshalText(b []byte) error {
	v, err := delivery.ParseRate(string(b))
	*r = RateSetting{Rate: v, bad: err}
	return nil
}

// check returns why the rate was refused (nil if it was not).
func (r RateSetting) check() error { return r.bad }
