package store

import (
	"context"
	"errors"
	"testing"
)

// testReleaseIdentifier: a resource releases only its own claims, after
// which another resource can claim the identifier; VersionBody reads a
// stored version in the transaction and is ErrNotFound for one never
// stored.
func testReleaseIdentifier(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, id := range []string{"p1", "p2"} {
		if _, _, err := putTx(s, "Patient", id, []byte(`{"resourceType":"Patient","id":"`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := putTx(s, "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","active":true}`)); err != nil {
		t.Fatal(err)
	}
	inTx := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	inTx(func(tx *Tx) error {
		_, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", canary, "p1")
		return err
	})
	steps := []struct {
		name        string
		op          string // release, claim
		system, id  string
		wantRelease bool   // release: whether id held it
		wantHolder  string // afterwards ("" none)
	}{
		{"another resource's claim is kept", "release", "urn:mrn", "p2", false, "p1"},
		{"another system's identifier is untouched", "release", "urn:other", "p1", false, "p1"},
		{"the holder releases it", "release", "urn:mrn", "p1", true, ""},
		{"releasing again changes nothing", "release", "urn:mrn", "p1", false, ""},
		{"another resource claims it then", "claim", "urn:mrn", "p2", false, "p2"},
		{"the former holder cannot release it", "release", "urn:mrn", "p1", false, "p2"},
	}
	for _, st := range steps {
		inTx(func(tx *Tx) error {
			switch st.op {
			case "release":
				held, err := tx.ReleaseIdentifier(ctx, "Patient", st.system, canary, st.id)
				noCanary(t, err)
				if err != nil {
					return err
				}
				if held != st.wantRelease {
					t.Errorf("%s: released %v, want %v", st.name, held, st.wantRelease)
				}
			case "claim":
				won, err := tx.ClaimIdentifier(ctx, "Patient", st.system, canary, st.id)
				if err != nil {
					return err
				}
				if won != st.id {
					t.Errorf("%s: %q won, want %q", st.name, won, st.id)
				}
			}
			holder, err := tx.FindByIdentifier(ctx, "Patient", "urn:mrn", canary)
			if errors.Is(err, ErrNotFound) {
				holder, err = "", nil
			}
			if err != nil {
				return err
			}
			if holder != st.wantHolder {
				t.Errorf("%s: held by %q, want %q", st.name, holder, st.wantHolder)
			}
			return nil
		})
	}
	inTx(func(tx *Tx) error {
		for _, c := range []struct {
			version int
			want    string
		}{{1, `{"resourceType":"Patient","id":"p1"}`}, {2, `{"resourceType":"Patient","id":"p1","active":true}`}} {
			body, err := tx.VersionBody(ctx, "Patient", "p1", c.version)
			if err != nil || string(body) != c.want {
				t.Errorf("VersionBody(p1, %d) = %s, %v; want %s", c.version, body, err, c.want)
			}
		}
		if _, err := tx.VersionBody(ctx, "Patient", "p1", 3); !errors.Is(err, ErrNotFound) {
			t.Errorf("VersionBody of a version never stored: %v, want ErrNotFound", err)
		}
		return nil
	})
}
