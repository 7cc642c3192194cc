package inbound

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// ErrTooLarge marks a file over the size limit (Spec.MaxFileSize).
var ErrTooLarge = errors.New("file exceeds the size limit")

// process takes one file: claim it (when Options.Claims is set; size is
// its listed size), download, decide and apply in chunks of store
// transactions, then the remote move. again is true for Reprocess. A
// file another process took comes back with errElsewhere in Err.
func (p *Poller) process(ctx context.Context, remote connectors.Remote, name string, size int64, again bool) (fr FileReport) {
	ctx, span := startFile(ctx, p.spec.Name, name)
	defer func() { endFile(ctx, span, &fr) }()
	fr = FileReport{Path: name}
	claim := ""
	if p.opt.Claims != nil {
		claim = p.claimName(name, size)
		ok, err := p.opt.Claims.TryClaim(ctx, claim, ClaimTTL)
		if err != nil {
			fr.Err = fmt.Errorf("claiming %s: %w", name, err)
			return fr
		}
		if !ok {
			fr.Err = errElsewhere
			return fr
		}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = p.opt.Claims.Release(rctx, claim) // unreleased, it frees after ClaimTTL
		}()
	}
	tmp, size, sum, err := p.download(ctx, remote, name)
	if tmp != nil {
		defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	}
	fr.Size, fr.SHA256 = size, sum
	var entry ledger.Entry
	switch {
	case errors.Is(err, ErrTooLarge):
		entry, err = p.recordTooLarge(ctx, &fr, claim)
	case errors.Is(err, connectors.ErrNotExist):
		fr.Err = errElsewhere // moved since the listing, by another process
		return fr
	case err != nil:
		fr.Err = err
		return fr
	default:
		entry, err = p.decideAndApply(ctx, tmp, &fr, again, claim)
	}
	if errors.Is(err, errElsewhere) || errors.Is(err, ledger.ErrRecorded) {
		fr.Err = errElsewhere
		return fr
	}
	if err != nil {
		fr.Err = fmt.Errorf("processing %s: %w", name, err)
		return fr
	}
	if !fr.Recovered {
		p.opt.Metrics.file(p.spec.Name, fr.Outcome, fr.RowsOK, fr.RowsFailed)
	}
	if err := p.finish(ctx, remote, name, entry, &fr); err != nil {
		fr.Err = err
	}
	return fr
}

// guard fails with errElsewhere inside tx when this process no longer
// holds claim ("" when there are no claims).
func (p *Poller) guard(ctx context.Context, tx *store.Tx, claim string) error {
	if claim == "" {
		return nil
	}
	ok, err := p.opt.Claims.Holds(ctx, tx, claim)
	if err != nil {
		return fmt.Errorf("checking the claim: %w", err)
	}
	if !ok {
		return errElsewhere
	}
	return nil
}

// renew extends claim before a chunk; a claim another process took ends
// the file here with errElsewhere.
func (p *Poller) renew(ctx context.Context, claim string) error {
	if claim == "" {
		return nil
	}
	ok, err := p.opt.Claims.TryClaim(ctx, claim, ClaimTTL)
	if err != nil {
		return fmt.Errorf("renewing the claim: %w", err)
	}
	if !ok {
		return errElsewhere
	}
	return nil
}

// download copies the file to a temporary file while hashing it, reading
// at most Spec.MaxFileSize bytes (ErrTooLarge beyond).
func (p *Poller) download(ctx context.Context, remote connectors.Remote, name string) (*os.File, int64, string, error) {
	return Download(ctx, remote, name, p.spec.MaxFileSize, p.opt.TempDir, "fhirbridge-inbound-*")
}

// Download copies the remote file name to a new temporary file in tempDir
// (named after pattern, as os.CreateTemp takes it) while hashing it, and
// returns the file rewound, its size and its SHA-256 in hex. A file over
// max bytes, by its listed size or by what is read, gives ErrTooLarge. On
// an error after the temporary file was made, it is returned for the
// caller to remove.
func Download(ctx context.Context, remote connectors.Remote, name string, max int64, tempDir, pattern string) (*os.File, int64, string, error) {
	info, err := remote.Stat(ctx, name)
	if err != nil {
		return nil, 0, "", fmt.Errorf("checking %s: %w", name, err)
	}
	if info.Size > max {
		return nil, info.Size, "", ErrTooLarge
	}
	rc, err := remote.Open(ctx, name)
	if err != nil {
		return nil, 0, "", fmt.Errorf("opening %s: %w", name, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(tempDir, pattern)
	if err != nil {
		return nil, 0, "", fmt.Errorf("creating a temporary file for %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(rc, max+1))
	if err != nil {
		return tmp, n, "", fmt.Errorf("downloading %s: %w", name, err)
	}
	if n > max {
		return tmp, n, "", ErrTooLarge
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return tmp, n, "", fmt.Errorf("rewinding the download of %s: %w", name, err)
	}
	return tmp, n, hex.EncodeToString(h.Sum(nil)), nil
}

// recordTooLarge records a file over the size limit as failed.
func (p *Poller) recordTooLarge(ctx context.Context, fr *FileReport, claim string) (ledger.Entry, error) {
	fr.Outcome = ledger.OutcomeFailed
	e := ledger.Entry{
		Direction: ledger.In, Job: p.spec.Name, Path: fr.Path, Size: fr.Size,
		Outcome: ledger.OutcomeFailed, At: p.now(),
		Detail: fmt.Sprintf("file of %d bytes exceeds the limit of %d bytes; not read", fr.Size, p.spec.MaxFileSize),
	}
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		if err := p.guard(ctx, tx, claim); err != nil {
			return err
		}
		var err error
		e.ID, err = ledger.Record(ctx, tx, e)
		return err
	})
	return e, err
}

// decideAndApply decides, in a first transaction, whether the file was
// applied already (only its move is left), is a duplicate of earlier
// content, is to resume from a checkpoint, or is new; then applies its
// rows in chunks of ChunkRows, one transaction each, recording the
// ledger entry with the first chunk and its checkpoint (the last line
// applied, outcome in_progress) with each, so that a crash resumes at the
// next line and no row is applied twice. Every transaction is guarded by
// the file's claim; the ledger's key on path, size, hash and generation
// lets only one process record the file.
func (p *Poller) decideAndApply(ctx context.Context, f *os.File, fr *FileReport, again bool, claim string) (ledger.Entry, error) {
	var entry ledger.Entry
	decided := false
	if err := p.renew(ctx, claim); err != nil { // the download may have been long
		return entry, err
	}
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		if err := p.guard(ctx, tx, claim); err != nil {
			return err
		}
		// the generation is read before the path's entry: a process
		// recording this file meanwhile either shows in ByPath (same
		// path and hash: recovered or resumed) or collides with this one
		// on the ledger's key
		g, err := ledger.NextGeneration(ctx, tx, p.spec.Name, fr.Path, fr.Size, fr.SHA256)
		if err != nil {
			return err
		}
		entry.Generation = g
		if again {
			return nil
		}
		prev, err := ledger.ByPath(ctx, tx, ledger.In, p.spec.Name, fr.Path)
		if err == nil && prev.SHA256 == fr.SHA256 {
			if prev.Outcome == ledger.OutcomeInProgress {
				entry = prev // resume at its checkpoint
				return decodeState(prev.State, fr)
			}
			entry, decided = prev, true
			fr.Recovered = true
			fillFromEntry(fr, prev)
			return nil
		}
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		earlier, err := ledger.ByHash(ctx, tx, ledger.In, p.spec.Name, fr.SHA256)
		if err == nil {
			fr.Outcome, fr.DuplicateOf = ledger.OutcomeDuplicate, earlier.Path
			entry, err = p.record(ctx, tx, fr, g)
			decided = true
			return err
		}
		if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil || decided {
		return entry, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return entry, fmt.Errorf("rewinding the download: %w", err)
	}
	rs, err := p.start(bufio.NewReaderSize(f, 64<<10), fr, entry.Line)
	if err != nil {
		return entry, err
	}
	chunk := p.opt.ChunkRows
	if chunk <= 0 {
		chunk = DefaultChunkRows
	}
	for k := 0; ; k++ {
		if err := ctx.Err(); err != nil {
			return entry, err
		}
		if k > 0 {
			if err := p.renew(ctx, claim); err != nil {
				return entry, err
			}
		}
		err := p.st.InTx(ctx, func(tx *store.Tx) error {
			if err := p.guard(ctx, tx, claim); err != nil {
				return err
			}
			if !rs.done {
				if err := p.applyChunk(ctx, tx, rs, chunk, fr); err != nil {
					return err
				}
			}
			if p.chunkHook != nil {
				if err := p.chunkHook(k); err != nil {
					return err
				}
			}
			e := p.entry(fr, entry.Generation)
			e.ID = entry.ID
			if !rs.done {
				e.Outcome, e.Line, e.State = ledger.OutcomeInProgress, rs.last, encodeState(fr)
			}
			var err error
			if e.ID == 0 {
				e.ID, err = ledger.Record(ctx, tx, e)
			} else {
				err = ledger.Update(ctx, tx, e, entry.Line)
			}
			if err == nil {
				entry = e
			}
			return err
		})
		if err != nil {
			return entry, err
		}
		if rs.done {
			return entry, nil
		}
	}
}

// entry is the ledger entry of fr, of the given generation.
func (p *Poller) entry(fr *FileReport, generation int64) ledger.Entry {
	return ledger.Entry{
		Direction: ledger.In, Job: p.spec.Name, Path: fr.Path, Size: fr.Size, SHA256: fr.SHA256,
		RowsOK: fr.RowsOK, RowsFailed: fr.RowsFailed, Outcome: fr.Outcome, Detail: detail(fr), At: p.now(),
		Generation: generation,
	}
}

// record adds the ledger entry of fr.
func (p *Poller) record(ctx context.Context, tx *store.Tx, fr *FileReport, generation int64) (ledger.Entry, error) {
	e := p.entry(fr, generation)
	id, err := ledger.Record(ctx, tx, e)
	e.ID = id
	return e, err
}

// fillFromEntry restores a FileReport from the ledger entry of a file
// applied before a restart.
func fillFromEntry(fr *FileReport, e ledger.Entry) {
	fr.Outcome, fr.RowsOK, fr.RowsFailed = e.Outcome, e.RowsOK, e.RowsFailed
	fr.Failed = failedLines(e.Detail)
	if e.Outcome == ledger.OutcomeDuplicate {
		rest, _ := strings.CutPrefix(e.Detail, "same content as ")
		fr.DuplicateOf, _, _ = strings.Cut(rest, "; nothing applied")
	}
}
