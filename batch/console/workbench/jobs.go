package workbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	wb "github.com/fhirbridge/fhirbridge/batch/workbench"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Bounds of the jobs kept in memory.
const (
	maxRunning  = 2   // runs at once, all analysts together
	maxKept     = 20  // runs remembered (the oldest finished are dropped)
	keepChanged = 200 // results kept per run that differ or fail
	keepSame    = 20  // results kept per run that are the same
	maxShown    = 400 // characters of a value shown in a diff
)

// jobs is the registry of runs of one console.
type jobs struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*job
}

func newJobs(now func() time.Time) *jobs {
	if now == nil {
		now = time.Now
	}
	return &jobs{now: now, byID: map[string]*job{}}
}

// job is one run.
type job struct {
	ID, Owner, Mapping, What string
	Started                  time.Time
	Max                      int

	pair   *wb.Pair
	cancel context.CancelFunc

	mu       sync.Mutex
	summary  wb.Summary
	kept     []wb.Result
	same     int // Same results kept
	running  bool
	canceled bool
	err      error
	finished time.Time
}

// errBusy refuses a run while maxRunning are running.
var errBusy = errors.New("two runs are going on already: wait for one to finish, or cancel it")

// start runs p on in in the background as a new job of owner.
func (js *jobs) start(owner, mappingName, what string, p *wb.Pair, in wb.Inputs, max int) (*job, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	running := 0
	for _, j := range js.byID {
		if j.isRunning() {
			running++
		}
	}
	if running >= maxRunning {
		return nil, errBusy
	}
	js.evict()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("making a run id: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{ID: hex.EncodeToString(b[:]), Owner: owner, Mapping: mappingName, What: what, Started: js.now(),
		Max: max, pair: p, running: true}
	j.cancel = func() {
		j.mu.Lock()
		if j.running {
			j.canceled = true
		}
		j.mu.Unlock()
		cancel()
	}
	js.byID[j.ID] = j
	go func() {
		defer cancel()
		_, err := wb.Run(ctx, p, in, wb.Options{MaxInputs: max, OnResult: j.add})
		j.mu.Lock()
		defer j.mu.Unlock()
		j.running, j.finished = false, js.now()
		if err != nil && !errors.Is(err, context.Canceled) {
			j.err = err
		}
	}()
	return j, nil
}

// evict drops the oldest finished jobs beyond maxKept - 1.
func (js *jobs) evict() {
	var done []*job
	for _, j := range js.byID {
		if !j.isRunning() {
			done = append(done, j)
		}
	}
	sort.Slice(done, func(a, b int) bool { return done[a].Started.Before(done[b].Started) })
	for i := 0; len(js.byID) >= maxKept && i < len(done); i++ {
		delete(js.byID, done[i].ID)
	}
}

func (js *jobs) get(id string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.byID[id]
}

// list returns owner's jobs, newest first, without results.
func (js *jobs) list(owner string) []jobView {
	js.mu.Lock()
	var mine []*job
	for _, j := range js.byID {
		if j.Owner == owner {
			mine = append(mine, j)
		}
	}
	js.mu.Unlock()
	sort.Slice(mine, func(a, b int) bool { return mine[a].Started.After(mine[b].Started) })
	out := make([]jobView, 0, len(mine))
	for _, j := range mine {
		out = append(out, j.view(false))
	}
	return out
}

func (j *job) isRunning() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.running
}

// add counts r and keeps it when there is room.
func (j *job) add(r wb.Result) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.summary.Add(r)
	switch {
	case r.Outcome == wb.Same && j.same < keepSame:
		j.same++
		j.kept = append(j.kept, r)
	case r.Outcome != wb.Same && len(j.kept)-j.same < keepChanged:
		j.kept = append(j.kept, r)
	}
	return nil
}

// cases makes the cases file of the kept results numbered ns.
func (j *job) cases(ns []int) ([]byte, error) {
	if len(ns) == 0 {
		return nil, errors.New("choose at least one input")
	}
	j.mu.Lock()
	byN := map[int]wb.Result{}
	for _, r := range j.kept {
		byN[r.N] = r
	}
	j.mu.Unlock()
	var chosen []wb.CaseInput
	for _, n := range ns {
		r, ok := byN[n]
		if !ok {
			return nil, fmt.Errorf("input %d is not among the inputs kept by this run", n)
		}
		chosen = append(chosen, wb.CaseInput{Name: r.Input.Ref, Input: r.Input})
	}
	return wb.Cases(j.pair, chosen)
}

// casesName is the download's file name: the mapping file's stem.
func (j *job) casesName() string {
	return strings.TrimSuffix(path.Base(j.pair.Source.File), ".yaml") + ".cases.yaml"
}

// jobView is what the pages show of a job.
type jobView struct {
	ID, Mapping, What string
	Started           time.Time
	Max               int
	Running, Canceled bool
	Err               string
	Summary           wb.Summary
	Fields            []wb.FieldCount
	Errors            []errCount
	Results           []resultView // only when finished
	Omitted           int          // results run but not kept
}

type errCount struct {
	Text string
	N    int
}

type resultView struct {
	N                   int
	Ref, Outcome        string
	BeforeErr, AfterErr string
	Changes             []changeView
	Output              string // the edited mapping's output, for unchanged inputs
}

type changeView struct {
	Path, Kind, Before, After string
}

// view returns what the pages show; results only when withResults and
// the job has finished.
func (j *job) view(withResults bool) jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := jobView{ID: j.ID, Mapping: j.Mapping, What: j.What, Started: j.Started, Max: j.Max,
		Running: j.running, Canceled: j.canceled, Summary: j.summary, Fields: j.summary.TopFields()}
	if j.err != nil {
		v.Err = j.err.Error()
	}
	for t, n := range j.summary.Errors {
		v.Errors = append(v.Errors, errCount{t, n})
	}
	sort.Slice(v.Errors, func(a, b int) bool { return v.Errors[a].N > v.Errors[b].N })
	if !withResults || j.running {
		return v
	}
	v.Omitted = j.summary.Inputs - len(j.kept)
	for _, r := range j.kept {
		rv := resultView{N: r.N, Ref: r.Input.Ref, Outcome: string(r.Outcome), BeforeErr: errText(r.BeforeErr), AfterErr: errText(r.AfterErr)}
		for _, c := range r.Changes {
			rv.Changes = append(rv.Changes, changeView{Path: c.Path, Kind: c.Kind(), Before: show(c.Before), After: show(c.After)})
		}
		if r.Outcome == wb.Same || r.Outcome == wb.Fixed {
			rv.Output = show(fhir.NewArray(r.After...))
		}
		v.Results = append(v.Results, rv)
	}
	return v
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// show renders a value as JSON, cut to maxShown characters.
func show(v *fhir.Value) string {
	if v == nil {
		return "—"
	}
	s := string(v.JSON())
	if r := []rune(s); len(r) > maxShown {
		return string(r[:maxShown]) + "…"
	}
	return s
}
