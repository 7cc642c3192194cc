package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// ErrTooLarge marks a file over the size limit (Spec.MaxFileSize).
var ErrTooLarge = errors.New("file exceeds the size limit")

// process takes one file: download, one store transaction that decides
// and applies, then the remote move. again is true for Reprocess.
func (p *Poller) process(ctx context.Context, remote connectors.Remote, name string, again bool) FileReport {
	fr := FileReport{Path: name}
	tmp, size, sum, err := p.download(ctx, remote, name)
	if tmp != nil {
		defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	}
	fr.Size, fr.SHA256 = size, sum
	var entry ledger.Entry
	switch {
	case errors.Is(err, ErrTooLarge):
		entry, err = p.recordTooLarge(ctx, &fr)
	case err != nil:
		fr.Err = err
		return fr
	default:
		entry, err = p.decideAndApply(ctx, tmp, &fr, again)
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
func (p *Poller) recordTooLarge(ctx context.Context, fr *FileReport) (ledger.Entry, error) {
	fr.Outcome = ledger.OutcomeFailed
	e := ledger.Entry{
		Direction: ledger.In, Job: p.spec.Name, Path: fr.Path, Size: fr.Size,
		Outcome: ledger.OutcomeFailed, At: p.now(),
		Detail: fmt.Sprintf("file of %d bytes exceeds the limit of %d bytes; not read", fr.Size, p.spec.MaxFileSize),
	}
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		e.ID, err = ledger.Record(ctx, tx, e)
		return err
	})
	return e, err
}

// decideAndApply is the one transaction of a file: already applied,
// duplicate content, or apply the rows; the ledger entry is recorded in
// it.
func (p *Poller) decideAndApply(ctx context.Context, f *os.File, fr *FileReport, again bool) (ledger.Entry, error) {
	var entry ledger.Entry
	base := *fr
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		*fr = base // InTx runs fn once, but keep fn free of leftovers anyway
		if !again {
			prev, err := ledger.ByPath(ctx, tx, ledger.In, p.spec.Name, fr.Path)
			if err == nil && prev.SHA256 == fr.SHA256 {
				entry = prev
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
				entry, err = p.record(ctx, tx, fr)
				return err
			}
			if !errors.Is(err, ledger.ErrNotFound) {
				return err
			}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewinding the download: %w", err)
		}
		if err := p.applyRows(ctx, tx, f, fr); err != nil {
			return err
		}
		var err error
		entry, err = p.record(ctx, tx, fr)
		return err
	})
	return entry, err
}

// record adds the ledger entry of fr.
func (p *Poller) record(ctx context.Context, tx *store.Tx, fr *FileReport) (ledger.Entry, error) {
	e := ledger.Entry{
		Direction: ledger.In, Job: p.spec.Name, Path: fr.Path, Size: fr.Size, SHA256: fr.SHA256,
		RowsOK: fr.RowsOK, RowsFailed: fr.RowsFailed, Outcome: fr.Outcome, Detail: detail(fr), At: p.now(),
	}
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
