package vseesim

import (
	"errors"
	"testing"
)

// FuzzSSOBody checks that the SSO body parser never panics, answers only
// validation errors that carry no value of the body, and that what it
// takes keeps its rules.
func FuzzSSOBody(f *testing.F) {
	for _, s := range []string{`{"first_name":"A","last_name":"B","email":"a@b.c","dob":"1980-01-02","code":"p1"}`,
		`{"external_id":"x"}`, `{"email":"e"}`, `{"code":123}`, `{"code":null,"email":"e"}`, `{}`, `[]`, `null`, ``,
		`{"code":"a"}{"code":"b"}`, `{"code":"` + string(make([]byte, 300)) + `"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := ParseSSOBody(raw)
		if err != nil {
			var e *errBody
			if !errors.As(err, &e) || e.msg == "" {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		if b.ExternalID == "" {
			t.Fatal("a body taken without an id")
		}
		for _, s := range []string{b.ExternalID, b.FirstName, b.LastName, b.Email, b.DOB} {
			if len(s) > MaxField {
				t.Fatalf("a field of %d bytes taken", len(s))
			}
		}
	})
}

// FuzzVisitBody checks the visit body parser likewise.
func FuzzVisitBody(f *testing.F) {
	for _, s := range []string{`{"intake_id":"i","start":1767225600,"provider_id":"dr1"}`, `{"intake_id":"i","start":"2026-03-02T09:00:00Z"}`,
		`{"intake_id":"i","start":"1767225600"}`, `{"intake_id":"i","start":1e300}`, `{"intake_id":"i","start":-5}`, `{"intake_id":7}`, `{}`, `[]`} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, scheduled bool) {
		b, err := ParseVisitBody(raw, scheduled)
		if err != nil {
			var e *errBody
			if !errors.As(err, &e) || e.msg == "" {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		if b.IntakeID == "" || (scheduled && b.Start.IsZero()) {
			t.Fatal("a body taken without a required field")
		}
		if !b.Start.IsZero() && (b.Start.Unix() <= 0 || b.Start.Unix() > maxUnix) {
			t.Fatalf("a start out of range taken: %v", b.Start)
		}
	})
}
