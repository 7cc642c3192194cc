package all

import (
	"slices"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

func TestRemoteKindsRegistered(t *testing.T) {
	if got, want := connectors.RemoteKinds(), []string{"ftp", "local", "sftp"}; !slices.Equal(got, want) {
		t.Errorf("RemoteKinds() = %q, want %q", got, want)
	}
}

func TestConnectorsRegistered(t *testing.T) {
	if _, err := connectors.Lookup("solo"); err != nil {
		t.Errorf("solo is not registered: %v", err)
	}
}
