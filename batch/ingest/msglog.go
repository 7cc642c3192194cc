package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// logInboundHook is logInbound, replaced by a benchmark that measures
// what logging costs.
var logInboundHook = logInbound

// logInbound records a committed request in the message log, in its
// transaction: one row naming its source and kind, the hash of its
// Bundle.identifier (the value never sits in a column) and the resource
// versions it stored, which link it to those versions, their deliveries
// and the crosswalk. The body is not copied: the stored versions are what
// was received, ids assigned.
func logInbound(ctx context.Context, tx *store.Tx, req *server.Request, res *server.Result) error {
	m := store.Message{Direction: store.In, Kind: inboundKind(req), Status: store.StatusAccepted, Outcome: "stored"}
	if key, ok := strings.CutPrefix(req.Key, "identifier:"); ok {
		_, value, found := strings.Cut(key, "|")
		if !found {
			value = key
		}
		m.Identifier = value
	}
	for i, e := range req.Entries {
		if i >= len(res.Entries) || res.Entries[i].ID == "" {
			continue
		}
		m.Resources = append(m.Resources, store.MessageResource{Type: e.Type, ID: res.Entries[i].ID, Version: res.Entries[i].Version})
	}
	if len(m.Resources) == 1 {
		m.ResourceType, m.ResourceID = m.Resources[0].Type, m.Resources[0].ID
	}
	if _, err := tx.LogMessage(ctx, m); err != nil {
		return fmt.Errorf("logging the received message: %w", err)
	}
	return nil
}

// inboundKind is the message log's kind of req: its source ("fhir" unless
// set) and request kind, e.g. "fhir.transaction", "hl7v2.transaction".
func inboundKind(req *server.Request) string {
	src := req.Source
	if src == "" {
		src = "fhir"
	}
	return src + "." + req.Kind
}
