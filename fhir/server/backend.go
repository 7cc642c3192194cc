package server

import (
	"context"
	"errors"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Errors a Backend wraps (with %w) to tell the server how to answer. Their
// messages, and those of the errors wrapping them, are never sent to the
// client nor logged, since a storage error may quote stored values; only
// the class is.
var (
	// ErrUnavailable means the request could not be committed now (store
	// down, disk full); nothing was committed. The server answers 503 with
	// Retry-After so the sender retries.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrRefused means a business rule or a mapping refused the request;
	// nothing was committed. The server answers 422. When the error chain
	// holds a *fhir.OperationOutcome (whose texts are value-free by
	// contract) it is returned to the client; otherwise a fixed text is.
	ErrRefused = errors.New("refused by a business rule")
	// ErrConflict means the request conflicts with the stored state (for
	// example a concurrent update of the same resource). The server answers
	// 409.
	ErrConflict = errors.New("conflict with the stored state")
	// ErrNotFound means the resource does not exist. The server answers 404.
	ErrNotFound = errors.New("resource not found")
	// ErrDuplicate means Request.Key was already committed (a concurrent
	// twin of this request won the race); nothing new was committed. The
	// server then answers with the stored response from Seen.
	ErrDuplicate = errors.New("request already committed")
	// ErrKeyReused means Request.Key was already committed for a request
	// whose body had another hash (Request.BodyHash): the sender reused a
	// Bundle.identifier for a different Bundle. Nothing was committed. The
	// server answers 409 with an OperationOutcome naming the identifier's
	// system, and counts it in fhirbridge_ingest_identifier_conflicts_total.
	ErrKeyReused = errors.New("request key reused for a different body")
	// ErrPreconditionFailed means an Entry.IfMatch did not name the
	// current version of its resource (or the resource does not exist);
	// nothing of the request was committed. The server answers 412 with
	// the *fhir.OperationOutcome of the error chain when there is one (its
	// texts value-free by contract), else a fixed text.
	ErrPreconditionFailed = errors.New("precondition failed: not the current version")
)

// Backend stores what the endpoint accepts. The server validates every
// request before calling Commit, so a Backend sees only well-formed FHIR
// of the configured types. All methods are called concurrently from many
// requests and must honour ctx cancellation.
type Backend interface {
	// Commit applies the entries of one request atomically (all or
	// nothing) and returns one EntryResult per entry, in order. When
	// req.Key is not empty Commit must, in the same transaction, store the
	// response given by req.Response under req.Key (so that Seen returns
	// it after a crash between commit and reply) with req.BodyHash, and
	// must fail with ErrDuplicate when the key is already stored for the
	// same body, or with ErrKeyReused when it is stored with another body
	// hash (both hashes known and different). Errors wrap ErrUnavailable,
	// ErrRefused, ErrConflict, ErrNotFound or ErrPreconditionFailed (see
	// Entry.IfMatch); any other error is answered 500.
	Commit(ctx context.Context, req *Request) (*Result, error)
	// Read returns the current version of a resource as FHIR JSON and its
	// version number (≥ 1), or an error wrapping ErrNotFound, or ErrGone
	// when the resource was deleted.
	Read(ctx context.Context, typ, id string) (body []byte, version int, err error)
	// Seen returns the response stored under key by an earlier Commit
	// (idempotency), or ok=false when there is none, or an error wrapping
	// ErrKeyReused when bodyHash and the hash stored with key are both
	// known ("" is unknown) and differ.
	Seen(ctx context.Context, key, bodyHash string) (status int, body []byte, ok bool, err error)
	// Ready reports whether the backend can take requests (/readyz).
	Ready(ctx context.Context) error
}

// Kinds of Request.
const (
	KindTransaction = "transaction" // a transaction Bundle: all entries or none
	KindBatch       = "batch"       // one entry of a batch Bundle
	KindSingle      = "single"      // POST /fhir/{type}, PUT or DELETE /fhir/{type}/{id}, or conditional PUT or DELETE /fhir/{type}?…
)

// Request is what one Commit applies.
type Request struct {
	// Key identifies the request for idempotency: "identifier:" +
	// Bundle.identifier system|value, or "sha256:" + the hex SHA-256 of
	// the body (with the method and URL for single creates); a batch
	// entry has its Bundle's key + "#entry/" + index. Empty means the
	// request is not recorded (PUT, which is idempotent by itself).
	Key string
	// BodyHash is the canonical hash (fhir.CanonicalHash) of the Bundle
	// when Key comes from its Bundle.identifier, so that the Backend can
	// tell a retry (same hash) from an identifier reused for a different
	// Bundle (ErrKeyReused). It is "" when Key derives from the body bytes
	// and so cannot be reused for another body.
	BodyHash string
	// Kind is KindTransaction, KindBatch or KindSingle.
	Kind string
	// Entries are the entries to apply, in Bundle order (one for batch and
	// single requests).
	Entries []Entry
	// Response renders the response the server will send for res: the
	// HTTP status and body to store under Key. It is deterministic and
	// cheap; Commit calls it inside its transaction, after assigning ids.
	Response func(res *Result) (status int, body []byte)
	// Source names where the request came from for the message log, e.g.
	// "hl7v2"; "" is the FHIR endpoint.
	Source string
}

// Entry is one resource to store, or to delete.
type Entry struct {
	// Method is "POST" (create), "PUT" (update or create with a client id)
	// or "DELETE" (which has no Resource).
	Method string
	// Type is the resource type; ID the resource id (PUT, DELETE), "" for
	// POST and for a conditional PUT or DELETE.
	Type, ID string
	// Condition, for a PUT or DELETE with ID "", selects the resource (see
	// Condition). A conditional PUT updates the one match, or creates the
	// resource when nothing matches (with the resource's own id when it
	// has one, else a new id); a conditional DELETE deletes the one match
	// and changes nothing when nothing matches. More than one match is
	// ErrMultipleMatches; a PUT whose resource names another id than its
	// match is ErrIDMismatch.
	Condition *Condition
	// IfNoneExist is the conditional-create query ("identifier=sys|val"),
	// from the If-None-Exist header or entry.request.ifNoneExist; "" when
	// the create is unconditional. A match is reported with Created false.
	IfNoneExist string
	// IfMatch, when > 0, is the version a PUT or DELETE is conditioned on
	// (If-Match header, entry.request.ifMatch): Commit must check, atomically with
	// the write, that the resource exists at exactly this version, and
	// fail the whole request with ErrPreconditionFailed otherwise. 0 means
	// unconditional.
	IfMatch int
	// Resource is the validated resource; shared, must not be modified.
	Resource *fhir.Value
	// FullURL is the Bundle entry's fullUrl ("urn:uuid:…"), which other
	// entries of a transaction may reference; the Backend rewrites those
	// references to the ids it assigns.
	FullURL string
	// Index is the position of the entry in its Bundle (0 for single).
	Index int
}

// Result is the outcome of one Commit.
type Result struct {
	// Entries holds one result per Request entry, in order.
	Entries []EntryResult
}

// EntryResult is the stored state of one entry.
type EntryResult struct {
	// ID and Version identify the stored resource version.
	ID      string
	Version int
	// Created is true when a new resource was created, false when an
	// existing one was updated or matched a conditional create.
	//
	// A DELETE entry has Status 204; ID and Version name the deletion
	// (a new version when the resource was live, the current one when it
	// was already deleted), or are empty when a conditional DELETE matched
	// nothing. Deleting a resource never stored is ErrNotFound.
	Created bool
	// Status overrides the HTTP status of the entry (0: 201 when Created,
	// else 200).
	Status int
	// Outcome optionally carries value-free warnings or information.
	Outcome *fhir.OperationOutcome
	// LastModified is when the version was stored; zero when unknown.
	LastModified time.Time
}

// status returns the HTTP status of the entry.
func (e *EntryResult) status() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Created:
		return 201
	}
	return 200
}
