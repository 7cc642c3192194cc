// Package ttsim plays tuOtempO against the bridge, for tests, demos and
// `fhirbridge sandbox tuotempo`. In online booking tuOtempO is the client:
// it calls the bridge's web services (guide B.2.2, A.4, B.3, C.2). The
// pieces:
//
//   - [Scenario] is what tuOtempO's patient portal does, one web service
//     call per step (centers, key entities, search, book, check, list,
//     move, cancel, and optionally the results), checking every answer as
//     tuOtempO would and returning a [Report];
//   - [LoginServer] is tuOtempO's side of the D.1 patient single sign-on:
//     the server-to-server login that answers a session id, and the
//     mop_customer.php page that accepts it;
//   - [EHR] is a small FHIR server standing in for the hospital's EHR: it
//     takes the bridge's write-back (transaction Bundles, PUTs) and serves
//     the Schedules and Slots it was seeded with.
//
// Every piece is an http.Handler with Start/URL/Close, so a Go test drives
// it in process. Nothing here prints or logs patient data: step lines name
// operations, outcomes and our ids only.
package ttsim

import (
	"context"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// Caller calls one of the bridge's web services as tuOtempO does: the
// operation by its guide name, the center (sent as CENTER_LID) and the
// parameters. It answers the records of the reply (one for single-record
// operations such as addAppointment), or an error when the call failed
// (transport, authentication, a fault or an HTTP error status). The REST
// and SOAP client of package wsapi satisfies it.
type Caller interface {
	Call(ctx context.Context, operation, center string, params map[string]string) ([]ws.Record, error)
}
