package config

// SoloWebhooks configures the receiver of Solo's webhook events.
type SoloWebhooks struct{}

func (x *SoloWebhooks) fillDefaults() {}

func (x *SoloWebhooks) validate() []error { return nil }

// SoloStatus configures how Solo appointment status comes back to FHIR.
type SoloStatus struct{}

func (x *SoloStatus) fillDefaults() {}

func (x *SoloStatus) validate() []error { return nil }
