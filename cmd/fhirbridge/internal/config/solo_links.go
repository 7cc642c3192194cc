package config

import "errors"

// SoloLinks configures the video links fetched after an appointment is
// created or updated in Solo (connectors/solo/links.go). The section's
// presence turns the fetching on: provider-link and video-call-links
// always, the MS Teams provider link when MSTeams is true. The links land
// on the stored Appointment as extensions urn:fhirbridge:solo:providerLink,
// urn:fhirbridge:solo:patientLink and urn:fhirbridge:solo:msTeamsLink.
type SoloLinks struct {
	// MSTeams also fetches the MS Teams provider link
	// (msteams-provider-link). Default false.
	MSTeams bool `yaml:"ms_teams"`
	// TeamsAuthToken is sent as the Teams-Auth-Token header of the MS
	// Teams call; required when MSTeams is true. A secret: {env: NAME} or
	// {file: PATH}.
	TeamsAuthToken Secret `yaml:"teams_auth_token"`
}

func (x *SoloLinks) fillDefaults() {}

func (x *SoloLinks) validate() []error {
	if x.MSTeams && !x.TeamsAuthToken.Set() {
		return []error{errors.New("connectors.solo.links.teams_auth_token: required with ms_teams: true ({env: NAME} or {file: PATH})")}
	}
	return nil
}
