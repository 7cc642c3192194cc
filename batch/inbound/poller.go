package inbound

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// Poller runs one inbound job. It remembers the size and modification
// time of every matching file between polls (in memory: after a restart a
// file needs two polls again, unless its done marker exists). A Poller is
// not safe for concurrent use; run one per job in each process (with
// Options.Claims when several processes share the store).
type Poller struct {
	spec  Spec
	st    *store.Store
	opt   Options
	now   func() time.Time
	seen  map[string]observation
	nonce int // distinguishes temporary files
	// chunkHook, when set (tests), runs in each chunk's transaction
	// after its rows; an error rolls the chunk back, as a crash would.
	chunkHook func(k int) error
}

// observation is what the previous poll saw of a file.
type observation struct {
	size int64
	mod  time.Time
}

// New returns a Poller for spec over st, after validating spec, filling
// its defaults. The tables it uses (the file ledger, delivery_jobs) belong
// to the migration lines of batch/ledger and batch/delivery, which
// [store.Open] applied.
func New(ctx context.Context, st *store.Store, spec Spec, opt Options) (*Poller, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Poller{spec: spec, st: st, opt: opt, now: opt.Now, seen: map[string]observation{}}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Spec returns the job's Spec with its defaults filled.
func (p *Poller) Spec() Spec { return p.spec }

// Poll lists the job's folder and processes every stable file one by one.
// It returns an error only when the folder cannot be listed; failures of
// single files are in the Report (see Report.Err) and are retried on the
// next Poll.
func (p *Poller) Poll(ctx context.Context, remote connectors.Remote) (rep Report, err error) {
	ctx, span := startPoll(ctx, p.spec.Name)
	defer func() { endPoll(span, rep, err) }()
	rep = Report{Job: p.spec.Name}
	files, err := remote.List(ctx, p.spec.Dir)
	if err != nil {
		return rep, fmt.Errorf("listing inbound folder of job %s: %w", p.spec.Name, err)
	}
	kept := files[:0:0]
	sizes := make(map[string]int64, len(files))
	for _, f := range files {
		sizes[p.full(f.Name)] = f.Size
		name := p.full(f.Name)
		if reason := nameProblem(path.Base(name)); reason != "" && p.matchesAny(name) {
			rep.Rejected = append(rep.Rejected, p.rejectName(ctx, remote, name, reason))
			continue
		}
		kept = append(kept, f)
	}
	stable := p.stable(kept, &rep)
	for _, name := range stable {
		if ctx.Err() != nil {
			break
		}
		fr := p.process(ctx, remote, name, sizes[name], false)
		if errors.Is(fr.Err, errElsewhere) {
			continue // another process has it; seen again next poll
		}
		if fr.Err == nil {
			delete(p.seen, name)
		}
		rep.Files = append(rep.Files, fr)
	}
	return rep, nil
}

// Reprocess runs one file again on purpose, wherever it is (its folder,
// processed/ or error/): the duplicate-content and already-applied rules
// are skipped, a new ledger entry is recorded and the rows are applied
// again (idempotent for status updates: an unchanged Appointment gets no
// new version). The file then moves as after a first processing.
func (p *Poller) Reprocess(ctx context.Context, remote connectors.Remote, name string) (Report, error) {
	rep := Report{Job: p.spec.Name}
	name = strings.Trim(name, "/")
	info, err := remote.Stat(ctx, name)
	if err != nil {
		return rep, fmt.Errorf("checking %s: %w", name, err)
	}
	fr := p.process(ctx, remote, name, info.Size, true)
	rep.Files = append(rep.Files, fr)
	if fr.Err != nil {
		return rep, fr.Err
	}
	return rep, nil
}

// stable picks the files to take now from a listing, in name order, and
// records what it saw for the next poll. Files not yet stable go to
// rep.Waiting.
func (p *Poller) stable(files []connectors.FileInfo, rep *Report) []string {
	names := make(map[string]bool, len(files))
	for _, f := range files {
		names[p.full(f.Name)] = true
	}
	var out []string
	now := p.now()
	current := make(map[string]observation, len(files))
	for _, f := range files {
		name := p.full(f.Name)
		if !p.matches(name) {
			continue
		}
		obs := observation{size: f.Size, mod: f.ModTime}
		current[name] = obs
		marked := p.spec.DoneMarker != "" && names[name+p.spec.DoneMarker]
		prev, ok := p.seen[name]
		unchanged := ok && prev.size == obs.size && prev.mod.Equal(obs.mod)
		if marked || unchanged && now.Sub(obs.mod) >= p.spec.MinAge {
			out = append(out, name)
		} else {
			rep.Waiting = append(rep.Waiting, name)
		}
	}
	p.seen = current // forget files that went away
	return out
}

// full returns a listed name relative to the remote's base, whether the
// Remote listed it with its folder or without.
func (p *Poller) full(name string) string {
	name = strings.Trim(name, "/")
	if p.spec.Dir == "" || strings.HasPrefix(name, p.spec.Dir+"/") {
		return name
	}
	return path.Join(p.spec.Dir, name)
}

// matches reports whether name is a file this job takes: its base name
// matches the pattern and it is neither a done marker nor a report.
func (p *Poller) matches(name string) bool {
	base := path.Base(name)
	if strings.HasSuffix(base, ReportSuffix) || p.spec.DoneMarker != "" && strings.HasSuffix(base, p.spec.DoneMarker) {
		return false
	}
	ok, _ := path.Match(p.spec.Pattern, base)
	return ok
}

// matchesAny is matches for a name that may not match the pattern only
// because it is cut or holds a control character: its extension, or the
// pattern, decides.
func (p *Poller) matchesAny(name string) bool {
	if p.matches(name) {
		return true
	}
	ext := path.Ext(p.spec.Pattern)
	return ext != "" && !strings.ContainsAny(ext, "*?[") && strings.HasSuffix(name, ext)
}
