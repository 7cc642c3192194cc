package bridge

import (
	"context"
	"io/fs"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Demo is a module's part in `fhirbridge demo`, the whole flow on the
// embedded defaults: the command starts every demo module's stand-in for
// its vendor (a simulator, a folder) in the demo's data folder, writes one
// configuration from their sections and routes, serves it, posts the
// synthetic demo Bundle, and then runs the modules' steps in the order of
// their stages, numbering and printing what each returns.
type Demo struct {
	// Summary says in a sentence what the module's part shows (for
	// `demo --help`), e.g. "the Solo simulator behind two routes: what it
	// received and the Solo ids mapped back".
	Summary string
	// Start starts the module's stand-in for its vendor with what it
	// needs under dir, the demo's data folder, and returns its part of
	// the run.
	Start func(dir string) (*DemoRun, error)
}

// DemoRun is a module's part of one demo run.
type DemoRun struct {
	// Where names the running stand-in for the demo's first line ("Solo
	// simulator on http://127.0.0.1:4321"); "" to say nothing.
	Where string
	// Section is the module's config section, the YAML under
	// connectors.<Name> (keys at column 1), complete: its secrets are
	// {file: PATH} of files the module wrote under the data folder, so
	// the configuration a kept data folder holds works as it is.
	Section string
	// Routes is the YAML list of the module's routes (the items under
	// routes:, at column 1); "" for none.
	Routes string
	// Steps are what the module shows once the Bundle is posted.
	Steps []DemoStep
	// Stop stops the stand-in; nil for nothing to stop.
	Stop func()
}

// DemoStage orders the demo's steps: all steps of one stage run before
// those of the next; within a stage, by module name, then in the order
// the module gives them. Before each stage the demo waits until the
// delivery queue holds no pending or in-flight job.
type DemoStage int

const (
	// DemoDelivered steps show what the posted Bundle's deliveries did
	// at the vendor.
	DemoDelivered DemoStage = iota + 1
	// DemoRuns steps are a module's own runs on the stored data: an
	// export, an inbound file taken back into FHIR.
	DemoRuns
	// DemoAfter steps show what the runs of DemoRuns caused at the
	// vendor (a cancellation flowing on).
	DemoAfter
)

// DemoStep is one numbered step of the demo.
type DemoStep struct {
	// Stage is when the step runs.
	Stage DemoStage
	// Run does the step and returns what it prints: a heading on the
	// first line (the demo numbers it), then detail lines indented by
	// three spaces; "" skips the step (nothing to show in this run). An
	// error stops the demo.
	Run func(ctx context.Context, env *DemoEnv) (string, error)
}

// DemoEnv is what a demo step gets.
type DemoEnv struct {
	// Dir is the demo's data folder.
	Dir string
	// Store is the store serve runs on.
	Store *store.Store
	// Modules are the configured modules' instances (as serve builds
	// them), for a step that runs a module's own job.
	Modules *Instances
	// Inputs are the demo's synthetic inputs (the Bundle posted first,
	// vendor files a step drops), and InputsName says where they live in
	// the repository ("fixtures/demo"), for what a step prints.
	Inputs     fs.FS
	InputsName string
}
