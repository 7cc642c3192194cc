// Package ws is the contract between tuOtempO's web services, as the bridge
// serves them (the bridge is tuOtempO's "WSClient": tuOtempO calls it), and
// the transports that carry them. An [Operation] is one method tuOtempO
// calls (searchAvailabilities, addAppointment, KeyEntities, GetCenters,
// getTestResultsList, …): its parameters and result fields in tuOtempO's
// own names, and the Go function that answers it from FHIR. The transports
// (REST with JSON, SOAP 1.1 document/literal with its WSDL) are written
// once over a [Registry] of operations; the packages that answer from FHIR
// (booking, key entities, results) register theirs.
//
// Values are strings, as tuOtempO's fields are nvarchar/nchar; a [Field]
// marked Binary holds raw bytes in its string, which transports send as
// base64 (xsd:base64Binary in SOAP).
package ws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Field is one parameter or result field of an operation.
type Field struct {
	// Name is tuOtempO's name for it: "AVA_START_DAY", "APP_LID".
	Name string
	// Required marks a parameter that must be present and non-empty (the
	// transport refuses the call without it), or a result field that is
	// always set.
	Required bool
	// Max is the guide's length limit in characters (nvarchar(50) is 50);
	// 0 for none. Transports refuse longer parameters.
	Max int
	// Binary marks raw bytes (DOWNLOAD_CONTENT), sent as base64.
	Binary bool
	// Doc says what the field is, for the WSDL and the REST help.
	Doc string
}

// Request is one call as the transport received it.
type Request struct {
	// Center is the center the call is for (CENTER_LID, guide B.3): the
	// caller's authenticated center. Never empty.
	Center string
	// Params are the parameters by name; absent ones are missing from the
	// map. Transports have already checked Required and Max.
	Params map[string]string
}

// Get returns the parameter name, "" when absent.
func (r *Request) Get(name string) string { return r.Params[name] }

// Record is one result record: field name → value. Fields not in the
// operation's Out are not sent.
type Record map[string]string

// Operation is one web service method tuOtempO calls.
type Operation struct {
	// Name is the method's name exactly as tuOtempO calls it
	// ("searchAvailabilities", "SearchAppointments", "GetCenters").
	Name string
	// Section is the guide section that defines it ("B.2.2").
	Section string
	// Doc says what it does, for the WSDL and the REST help.
	Doc string
	// In are the parameters, Out the fields of each result record, both in
	// the guide's order.
	In, Out []Field
	// List is true when the answer is a list of records (availabilities,
	// appointments, centers); false when it is exactly one record (the
	// ADD_RESULT of addAppointment).
	List bool
	// Call answers the request. A failure the caller caused is an *Error
	// with Kind BadRequest or NotFound; a failure of ours (store
	// unreachable) any other error, which transports answer as a server
	// fault without its text. Business outcomes the guide puts in the
	// record (ADD_RESULT=ERROR with ERROR_MESSAGE) are records, not errors.
	Call func(ctx context.Context, req *Request) ([]Record, error)
}

// Kind classifies an *Error.
type Kind int

const (
	// BadRequest: a parameter is malformed or out of range (REST 400, SOAP
	// Client fault).
	BadRequest Kind = iota + 1
	// NotFound: the call names something that does not exist (REST 404,
	// SOAP Client fault).
	NotFound
	// Unavailable: the bridge cannot answer now, retry later (REST 503 with
	// Retry-After, SOAP Server fault).
	Unavailable
)

// Error is a failure of one call that the caller may be told about. Its
// Message names the parameter and the rule, never a value of a patient.
type Error struct {
	Kind Kind
	// Field is the parameter at fault, "" for none.
	Field string
	// Message says what is wrong, in words safe to send and log.
	Message string
	// Err is the cause, for errors.Is/As; never sent.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error of kind k about field.
func Errorf(k Kind, field, format string, args ...any) *Error {
	return &Error{Kind: k, Field: field, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of the first *Error in err's chain, 0 for none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Registry is a set of operations by name. The zero value is empty and
// ready; it is safe for concurrent use.
type Registry struct {
	mu  sync.RWMutex
	ops map[string]*Operation
}

// Add registers op; a second operation of one name is an error.
func (r *Registry) Add(op *Operation) error {
	if op.Name == "" || op.Call == nil {
		return fmt.Errorf("ws: operation %q has no name or no Call", op.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops = map[string]*Operation{}
	}
	if _, dup := r.ops[op.Name]; dup {
		return fmt.Errorf("ws: operation %s registered twice", op.Name)
	}
	r.ops[op.Name] = op
	return nil
}

// Lookup returns the operation named name, or nil.
func (r *Registry) Lookup(name string) *Operation {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ops[name]
}

// Operations returns every operation, sorted by name.
func (r *Registry) Operations() []*Operation {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Operation, 0, len(r.ops))
	for _, op := range r.ops {
		out = append(out, op)
	}
	slices.SortFunc(out, func(a, b *Operation) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// Booker takes bookings, moves and cancellations from any of tuOtempO's
// routes into FHIR: the addAppointment/deleteAppointment web services,
// Sincro's temporary tables (TT_RESERVATIONS_TMP add/update/delete,
// TT_DELETE_RESERVATION) and the same tables sent as files. Every change
// is one store transaction that also queues its write-back to the EHR.
type Booker interface {
	// Add books the free Slot that p (addAppointment's parameters:
	// ACTIVITY_LID, RESOURCE_LID, USER_TID or USER_LID, the USER_* data,
	// APP_DATE, APP_START_TIME, AVAILABILITY_LID, INSURANCE_LID) names
	// for center, and answers addAppointment's record (ADD_RESULT OK with
	// APP_LID and USER_LID, or ADD_RESULT ERROR with ERROR_MESSAGE). A
	// retried call (same patient, slot and activity) answers the first
	// call's record.
	Add(ctx context.Context, center string, p map[string]string) (Record, error)
	// Move moves the Appointment appLID of center to the free Slot p
	// names (APP_DATE, APP_START_TIME, RESOURCE_LID, AVAILABILITY_LID),
	// freeing its old Slot; it answers as Add does.
	Move(ctx context.Context, center, appLID string, p map[string]string) (Record, error)
	// Cancel cancels the Appointment appLID of center (byPatient: the
	// patient cancelled, else the centre) and frees its Slot; it answers
	// deleteAppointment's record (DELETE_RESULT OK, or ERROR with
	// ERROR_MESSAGE).
	Cancel(ctx context.Context, center, appLID string, byPatient bool) (Record, error)
}
