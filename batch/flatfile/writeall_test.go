package flatfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestWriteAllAllOrNone: WriteAll writes every row or, when one cannot be
// written, none, and later rows still go out.
func TestWriteAllAllOrNone(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b, []string{"A", "B"}, WriteOptions{})
	ok := func(a string) *fhir.Value {
		v := fhir.NewObject()
		v.Set("A", fhir.NewString(a))
		return v
	}
	bad := fhir.NewObject()
	bad.Set("A", fhir.NewArray())
	if err := w.WriteAll([]*fhir.Value{ok("1"), ok("2")}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll([]*fhir.Value{ok("3"), bad}); !errors.Is(err, ErrUnsupportedValue) {
		t.Fatalf("WriteAll with a bad row = %v, want ErrUnsupportedValue", err)
	}
	if err := w.WriteAll([]*fhir.Value{ok("4")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "A,B\n1,\n2,\n4,\n"; got != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
}
