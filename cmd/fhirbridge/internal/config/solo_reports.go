package config

// SoloReports configures the import of Solo's CSV reports.
type SoloReports struct{}

func (x *SoloReports) fillDefaults() {}

func (x *SoloReports) validate() []error { return nil }
