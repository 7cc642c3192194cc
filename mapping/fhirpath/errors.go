package fhirpath

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrSyntax is wrapped by every parse error.
	ErrSyntax = errors.New("fhirpath: syntax error")
	// ErrUnknownFunction is wrapped when an expression calls a function the
	// engine does not implement.
	ErrUnknownFunction = errors.New("fhirpath: unknown function")
	// ErrUnknownVariable is wrapped when an expression names a %variable
	// not listed in Options.Vars.
	ErrUnknownVariable = errors.New("fhirpath: unknown variable")
	// ErrEval is wrapped by every evaluation error.
	ErrEval = errors.New("fhirpath: evaluation error")
)

// Error is a compile error located at a 1-based column of the expression.
// Its message holds the expression's own text only, never data.
type Error struct {
	Col int    // 1-based column
	Msg string // what is wrong
	Err error  // ErrSyntax, ErrUnknownFunction, ErrUnknownVariable or ErrUnknownElement
	// Unknown names the element and the suggestion of an ErrUnknownElement.
	Unknown *Unknown
}

// Error formats the error with its column.
func (e *Error) Error() string { return fmt.Sprintf("%v at column %d: %s", e.Err, e.Col, e.Msg) }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func errAt(src string, i int, msg string) error {
	return &Error{Col: colOf(src, i), Msg: msg, Err: ErrSyntax}
}

// evalError builds an evaluation error; msg must never contain data.
func evalError(msg string) error { return fmt.Errorf("%w: %s", ErrEval, msg) }
