// Package fhirpath is fhirbridge's FHIRPath (R4, FHIRPath N1 2.0) engine:
// an expression is parsed and checked once by Compile, then evaluated many
// times over resources already parsed into *fhir.Value trees, touching only
// the elements the expression names.
package fhirpath

// CONTRACT (shared with package mapping; keep these names and meanings):
//
//	func Compile(expr string, opt Options) (*Expr, error)
//	    Parses expr. Syntax errors and unknown functions (a function the
//	    engine does not implement) are refused here, with the 1-based column.
//	    Options.Vars lists the names allowed after % (besides the built-ins
//	    %resource, %rootResource, %context, %ucum, %sct, %loinc, %`vs-…`,
//	    %`ext-…`); any other %name is a compile error.
//	type Options struct { Vars []string }
//	func (e *Expr) String() string               // the source text
//	func (e *Expr) Eval(env *Env, input Collection) (Collection, error)
//	    Evaluates with input as the focus (%context). Safe for concurrent
//	    use by many goroutines. Errors (e.g. single-item expected, type
//	    mismatch) never contain a value from the data.
//	type Env struct {
//	    Resource *fhir.Value          // %resource / %rootResource
//	    Vars     map[string]Collection // %name
//	    Resolver fhir.Resolver         // for resolve(); nil = nothing resolves
//	}
//	type Collection []Item
//	type Item — one FHIRPath value: an element of the JSON tree (with its
//	    FHIR type name when known: resourceType, or from a choice suffix
//	    such as valueCoding → Coding) or a System value (Boolean, String,
//	    Integer, Decimal, Date, DateTime, Time, Quantity).
//	func ItemOf(v *fhir.Value) Item           // wrap a tree node
//	func String(s string) Item, Boolean(b bool) Item, Integer(i int64) Item
//	func (it Item) Node() *fhir.Value         // nil for System values
//	func (it Item) TypeName() string          // "string", "Coding", "Patient", "System.Integer"…
//	func (it Item) AsString() (string, bool)  // primitive as FHIRPath toString()
//	func (it Item) AsBool() (bool, bool)
//	func (it Item) JSON() *fhir.Value         // the item as a JSON value (primitives typed: numbers stay numbers)
//	func Functions() []string                 // names of the implemented functions, sorted
