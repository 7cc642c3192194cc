package connectors

import (
	"context"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Op is what a delivery asks the vendor to do with a record.
type Op string

// The delivery operations.
const (
	// Create makes a new vendor record; Delivery.VendorID is "".
	Create Op = "create"
	// Update changes the vendor record named by Delivery.VendorID.
	Update Op = "update"
	// Cancel cancels the vendor record named by Delivery.VendorID (an
	// Appointment whose status became cancelled).
	Cancel Op = "cancel"
)

// Delivery is one unit of outbound work: a mapped record and what to do
// with it. The relay builds it from an outbox row and the crosswalk; a
// connector treats it as read-only.
type Delivery struct {
	// Flow names the mapping that produced Body, e.g. "solo/patient".
	// A connector serves a fixed set of flows and refuses others
	// (Permanent).
	Flow string
	// Key is the idempotency key, "type/id/version". Every attempt of the
	// same delivery carries the same key.
	Key string
	// ResourceType and ResourceID name the FHIR resource delivered. The
	// id is not patient data and may appear in errors and vendor paths.
	ResourceType, ResourceID string
	// Op is the operation.
	Op Op
	// Body is the mapped vendor record. It is shared: a connector that
	// needs to change it copies it first.
	Body *fhir.Value
	// VendorID is the vendor's id of the record from the crosswalk; ""
	// for a Create.
	VendorID string
	// Parent is the vendor id of the record this one depends on, e.g. the
	// Solo patient id an appointment is created under; "" when none.
	Parent string
	// Parents holds the vendor ids of every record this one depends on,
	// keyed by FHIR resource type ("Practitioner", "Location"), for a
	// record that depends on more than one (Parent's is among them); nil
	// when none.
	Parents map[string]string
	// Fresh is true only when the relay knows this key was never handed
	// to a connector before (first claim, no earlier attempt). When false
	// — the zero value, and every retry or re-claim after a crash — the
	// connector must assume an earlier attempt may have reached the
	// vendor and, for a Create, look the record up before creating it
	// again when the vendor offers a way.
	Fresh bool
}

// Result is what the vendor answered to a successful delivery.
type Result struct {
	// VendorID is the vendor's id of the record, to keep in the
	// crosswalk (the same id as Delivery.VendorID for an update).
	VendorID string
	// IDName names the identifier VendorID is written back as:
	// urn:fhirbridge:<vendor>:<IDName> ("" is "id"; Bandyer's is "roomId").
	IDName string
	// Attributes are further values the vendor returned that the bridge
	// shows on the FHIR resource, e.g. "visitUrl". Nil when none.
	Attributes map[string]string
	// Related are further records the vendor's answer names (the visit a
	// call created, the vendor's id of another resource), which the
	// bridge stores in the transaction that records the delivery. Nil
	// when none.
	Related []Related
}

// Related is one further resource a delivery's answer gives: Resource,
// when set, is stored as Type/ID (a new version only when it changed);
// VendorID, when set, is the vendor's id of Type/ID, linked in the
// crosswalk and written onto the stored resource as its identifier —
// unless Type/ID already has another id of the vendor, which is kept.
// Stored or changed resources are routed like ingested ones.
type Related struct {
	Type, ID string
	Resource *fhir.Value
	VendorID string
}

// Connector delivers records to one vendor.
//
// Deliver performs d and returns the vendor's answer. It returns only
// after the outcome is known or ctx is done. Every error is classified
// with Permanently, Transiently or NeedsReconnect (see Classify; an
// unclassified error counts as Transient) and carries no patient data:
// status codes, element names and ids only. A Connector is safe for
// concurrent use by multiple goroutines.
type Connector interface {
	Deliver(ctx context.Context, d Delivery) (Result, error)
}

// Checker is the optional connection test of a Connector: Check makes
// one cheap authenticated call and returns a classified error when the
// vendor cannot be reached or refuses the credentials. It changes no
// vendor data.
type Checker interface {
	Check(ctx context.Context) error
}
