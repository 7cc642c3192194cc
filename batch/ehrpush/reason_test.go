package ehrpush

import (
	"context"
	"strings"
	"testing"
)

// TestRefusalKeepsEHRWording: the EHR's answer is summarised in the
// error, while the resource it quotes back (the fake EHR pastes the body
// into its answer unescaped, so the answer is not even JSON) is not.
func TestRefusalKeepsEHRWording(t *testing.T) {
	e := newEnv(t, Config{}, answer{status: 422})
	_, _, err := e.push.put(context.Background(), "Patient", "p-1",
		[]byte(`{"resourceType":"Patient","id":"p-1","name":[{"family":"`+secret+`"}]}`))
	if err == nil {
		t.Fatal("want a refusal")
	}
	got := err.Error()
	if want := "status 422: the EHR said: "; !strings.Contains(got, want) {
		t.Errorf("error %q lacks %q", got, want)
	}
	for _, w := range []string{secret, "Jane"} {
		if strings.Contains(got, w) {
			t.Errorf("patient value %q in %q", w, got)
		}
	}
}
