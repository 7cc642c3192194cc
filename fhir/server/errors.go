package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// errClass names the class of a backend error for logs: a fixed word,
// since the error text itself may quote stored values.
func errClass(err error) string {
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrGone):
		return "gone"
	case errors.Is(err, ErrMultipleMatches):
		return "multiple_matches"
	case errors.Is(err, ErrIDMismatch):
		return "id_mismatch"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrDuplicate):
		return "duplicate"
	case errors.Is(err, ErrKeyReused):
		return "key_reused"
	case errors.Is(err, ErrPreconditionFailed):
		return "precondition"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return "other"
}

// backendError maps a backend error to the response. Only the class of
// err is used (and, for ErrRefused, an OperationOutcome in its chain).
func (h *handler) backendError(ctx context.Context, route string, err error) *apiError {
	class := errClass(err)
	h.logger(ctx).WarnContext(ctx, "backend call failed", "route", route, "class", class)
	switch class {
	case "unavailable", "deadline":
		return newError(http.StatusServiceUnavailable, "", "transient", "",
			"the request could not be stored now; nothing was stored; retry later")
	case "refused":
		var oo *fhir.OperationOutcome
		if errors.As(err, &oo) && oo.HasErrors() {
			return &apiError{status: http.StatusUnprocessableEntity, oo: oo}
		}
		return newError(http.StatusUnprocessableEntity, "", "business-rule", "",
			"the request was refused by a business rule; nothing was stored")
	case "conflict":
		return newError(http.StatusConflict, "", "conflict", "",
			"the request conflicts with the stored state; nothing was stored")
	case "key_reused":
		return h.reusedKey(ctx, route, nil)
	case "precondition":
		return preconditionError(err)
	case "not_found":
		return newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "resource not found")
	case "canceled":
		return newError(499, "", "timeout", "", "the request was canceled")
	case "gone", "multiple_matches", "id_mismatch":
		return conditionalError(class)
	}
	return newError(http.StatusInternalServerError, "", fhir.CodeException, "",
		"internal error; the request may not have been stored, retry it")
}

// errorsIsDuplicate reports whether err wraps ErrDuplicate.
func errorsIsDuplicate(err error) bool { return errors.Is(err, ErrDuplicate) }
