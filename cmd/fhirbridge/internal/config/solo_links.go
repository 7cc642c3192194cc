package config

// SoloLinks configures the video links fetched after an appointment is created.
type SoloLinks struct{}

func (x *SoloLinks) fillDefaults() {}

func (x *SoloLinks) validate() []error { return nil }
