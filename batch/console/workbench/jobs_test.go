package workbench

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"
	"time"

	wb "github.com/fhirbridge/fhirbridge/batch/workbench"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

const jobMapping = "name: t/p\nversion: 1\nsource: Patient\nfields:\n  - target: G\n    from: gender\n"

// gated yields n Patients, waiting for a token on gate before each.
func gated(n int, gate chan struct{}) wb.Inputs {
	return func(ctx context.Context, yield func(wb.Input) error) error {
		for i := range n {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
			v := fhir.NewObject()
			v.Set("resourceType", fhir.NewString("Patient"))
			v.Set("id", fhir.NewString("p"+string(rune('a'+i))))
			v.Set("gender", fhir.NewString("female"))
			if err := yield(wb.Input{Ref: "Patient/p", Value: v}); err != nil {
				return err
			}
		}
		return nil
	}
}

func testPair(t *testing.T) *wb.Pair {
	t.Helper()
	src := shipped.Source{FS: fstest.MapFS{"p.yaml": {Data: []byte(jobMapping)}}, File: "p.yaml", Path: "p.yaml"}
	p, err := wb.Load(src, nil, []byte(jobMapping+"  - target: H\n    value: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestJobProgressCancelAndBounds(t *testing.T) {
	js := newJobs(nil)
	p := testPair(t)
	gate := make(chan struct{})
	j, err := js.start("ana", "shipped:x", "pasted input", p, gated(10, gate), 100)
	if err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	gate <- struct{}{}
	waitFor(t, "two inputs", func() bool { return j.view(true).Summary.Inputs == 2 })
	v := j.view(true)
	if !v.Running || v.Results != nil || v.Summary.Changed != 2 || len(v.Fields) != 1 || v.Fields[0].Field != "H" {
		t.Fatalf("a running job's view: %+v", v)
	}
	// a second run is allowed, a third is not
	j2, err := js.start("ana", "shipped:x", "pasted input", p, gated(1, make(chan struct{})), 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.start("bob", "shipped:x", "pasted input", p, gated(1, gate), 100); !errors.Is(err, errBusy) {
		t.Fatalf("third run: %v", err)
	}
	if got := js.list("bob"); len(got) != 0 {
		t.Fatalf("bob sees ana's runs: %v", got)
	}
	j.cancel()
	j2.cancel()
	waitFor(t, "the cancelled runs to stop", func() bool { return !j.isRunning() && !j2.isRunning() })
	v = j.view(true)
	if !v.Canceled || v.Err != "" || v.Summary.Inputs != 2 || len(v.Results) != 2 || v.Results[0].Changes[0].Path != "[0].H" {
		t.Fatalf("a cancelled job's view: %+v", v)
	}
	text, err := j.cases([]int{2})
	if err != nil || len(text) == 0 {
		t.Fatalf("cases of a kept input: %v", err)
	}
	if _, err := j.cases([]int{3}); err == nil {
		t.Fatal("cases of an input never run")
	}
	// the registry forgets the oldest finished runs beyond its bound
	for range maxKept + 3 {
		g := make(chan struct{}, 1)
		g <- struct{}{}
		jx, err := js.start("ana", "shipped:x", "pasted input", p, gated(1, g), 10)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a one-input run", func() bool { return !jx.isRunning() })
	}
	if n := len(js.list("ana")); n > maxKept {
		t.Fatalf("%d runs kept, want at most %d", n, maxKept)
	}
	if js.get(j.ID) != nil {
		t.Fatal("the oldest finished run is still kept")
	}
}

func TestKeptResultsAreBounded(t *testing.T) {
	j := &job{}
	for i := 1; i <= 2*keepChanged+100; i++ {
		o := wb.Changed
		if i%2 == 0 {
			o = wb.Same
		}
		_ = j.add(wb.Result{N: i, Outcome: o})
	}
	if len(j.kept) != keepChanged+keepSame || j.same != keepSame {
		t.Fatalf("kept %d (same %d)", len(j.kept), j.same)
	}
	if v := j.view(true); v.Omitted != 2*keepChanged+100-keepChanged-keepSame {
		t.Fatalf("omitted %d", v.Omitted)
	}
}
