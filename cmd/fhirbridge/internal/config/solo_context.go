package config

// SoloContextLinks configures the context-aware links fhirbridge builds.
type SoloContextLinks struct{}

func (x *SoloContextLinks) fillDefaults() {}

func (x *SoloContextLinks) validate() []error { return nil }

// SoloSlots configures the FHIR Slot search answered from Solo.
type SoloSlots struct{}

func (x *SoloSlots) fillDefaults() {}

func (x *SoloSlots) validate() []error { return nil }
