package bandyersim

import (
	"errors"
	"testing"
)

// FuzzTeleconsultationBody checks that the body parser never panics,
// answers only validation errors, and that what it takes keeps the spec's
// invariants.
func FuzzTeleconsultationBody(f *testing.F) {
	for _, s := range []string{twoFull, threePending, `{"participants":["a","b"],` + dates + `}`,
		`{"start_date":"2026-03-02T15:30:00.000Z"}`, `{}`, `[]`, `null`, `{"participants":{"number":1e9,"data":[]}}`,
		`{"participants":{"number":2,"data":[{"userExternalId":"a","groups":[],"fullName":""}]}}`} {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, auth0, patch bool) {
		b, err := ParseBody(raw, auth0, patch, nil)
		if err != nil {
			var e *errBody
			if !errors.As(err, &e) || e.msg == "" {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		if !patch && (b.Participants == nil || b.Start == nil || b.End == nil) {
			t.Fatal("a POST body taken without a required field")
		}
		if b.Start != nil && b.End != nil && b.End.Before(*b.Start) {
			t.Fatal("end before start taken")
		}
		if p := b.Participants; p != nil {
			if p.Number < 1 || p.Number > MaxParticipants || len(p.Data) > p.Number {
				t.Fatalf("participants %d/%d taken", len(p.Data), p.Number)
			}
			if p.Auth0IDs && !auth0 {
				t.Fatal("an auth0 array taken without auth0")
			}
			seen := map[string]bool{}
			for _, d := range p.Data {
				if d.UserExternalID == "" || seen[d.UserExternalID] {
					t.Fatal("empty or repeated userExternalId taken")
				}
				seen[d.UserExternalID] = true
				if !auth0 && (len(d.Groups) == 0 || d.FullName == "") {
					t.Fatal("groups or fullName missing without auth0")
				}
			}
		}
		if _, err := ParseParticipantData(raw, auth0, []string{"doctor"}); err != nil {
			var e *errBody
			if !errors.As(err, &e) {
				t.Fatalf("participant data: not a validation error: %v", err)
			}
		}
	})
}
