package inbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// SourceExtensionURL is the url of the extension that notes, on an
// updated Appointment, which job, file and line the change came from.
const SourceExtensionURL = "https://fhirbridge.dev/fhir/StructureDefinition/inbound-source"

// rowCursor reads a file's rows for chunked application: the header first,
// then each record in turn. Records on lines up to skipTo (a checkpoint)
// were applied before and are passed over.
type rowCursor struct {
	rd     *flatfile.Reader
	last   int // the last physical line consumed
	skipTo int
	done   bool
}

// start reads the header. A header the job cannot take refuses the
// whole file (fr says why; the cursor is done); an error is a failure to read
// the download.
func (p *Poller) start(r io.Reader, fr *FileReport, skipTo int) (*rowCursor, error) {
	fr.Outcome = ledger.OutcomeFailed
	rd, err := flatfile.NewReader(r, flatfile.ReadOptions{})
	if errors.Is(err, flatfile.ErrHeader) || errors.Is(err, flatfile.ErrRecordTooLarge) {
		fr.Failed = append(fr.Failed, LineError{Line: 1, Reason: "file refused: " + err.Error()})
		return &rowCursor{done: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if err := p.spec.Mapping.CheckHeader(rd.Header()); err != nil {
		fr.Failed = append(fr.Failed, LineError{Line: 1, Reason: "file refused: " + err.Error()})
		return &rowCursor{done: true}, nil
	}
	return &rowCursor{rd: rd, last: 1, skipTo: skipTo}, nil
}

// applyChunk applies up to n rows in tx, filling fr's counts; when the
// file ends it sets fr.Outcome and marks rs done. It returns an error only
// for failures that must roll the chunk back (the store, reading the
// download).
func (p *Poller) applyChunk(ctx context.Context, tx *store.Tx, rs *rowCursor, n int, fr *FileReport) error {
	for applied := 0; applied < n && !rs.done; {
		rec, err := rs.rd.Next()
		var re *flatfile.RecordError
		switch {
		case errors.Is(err, io.EOF):
			rs.done = true
			fr.Outcome = outcome(fr)
			return nil
		case errors.As(err, &re):
			if re.Line > rs.skipTo {
				fail(fr, re.Line, re.Msg)
				applied++
			}
			rs.last = re.Line
			continue
		case errors.Is(err, flatfile.ErrRecordTooLarge):
			fail(fr, rs.last+1, err.Error()+"; the rest of the file was not read")
			rs.done = true
			fr.Outcome = outcome(fr)
			return nil
		case err != nil:
			return fmt.Errorf("reading rows: %w", err)
		}
		rs.last = rec.Line
		if rec.Line <= rs.skipTo {
			continue // applied before the checkpoint
		}
		applied++
		reason, err := p.applyRow(ctx, tx, rec, fr)
		if err != nil {
			return fmt.Errorf("applying line %d: %w", rec.Line, err)
		}
		if reason != "" {
			fail(fr, rec.Line, reason)
		} else {
			fr.RowsOK++
		}
	}
	return nil
}

// outcome is the ledger outcome of a file whose rows were all read.
func outcome(fr *FileReport) string {
	switch {
	case fr.RowsFailed == 0:
		return ledger.OutcomeOK
	case fr.RowsOK > 0:
		return ledger.OutcomePartial
	}
	return ledger.OutcomeFailed
}

// fail counts a refused row and lists it while fewer than MaxListed are.
func fail(fr *FileReport, line int, reason string) {
	fr.RowsFailed++
	if len(fr.Failed) < MaxListed {
		fr.Failed = append(fr.Failed, LineError{Line: line, Reason: reason})
	}
}

// applyRow maps one row and updates the Appointment it names. A refused
// row returns its reason; an error aborts the file.
func (p *Poller) applyRow(ctx context.Context, tx *store.Tx, rec flatfile.Record, fr *FileReport) (string, error) {
	upd, err := p.spec.Mapping.Reverse(rec.Value)
	if err != nil {
		return err.Error(), nil // a *mapping.FieldError names fields, never values
	}
	if upd == nil {
		return "the mapping's condition excludes this row", nil
	}
	id := upd.GetString("id")
	if !fhir.ValidID(id) {
		// never looked up, so no store error can carry it
		return "APP_LID is not a FHIR id ([A-Za-z0-9-.]{1,64})", nil
	}
	body, _, err := tx.GetResource(ctx, "Appointment", id)
	if errors.Is(err, store.ErrNotFound) {
		return "no stored Appointment has this APP_LID", nil
	}
	if err != nil {
		return "", err
	}
	cur, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil || cur.Kind != fhir.Object {
		return "the stored Appointment cannot be read", nil
	}
	note := p.spec.Name + ": " + path.Base(fr.Path) + " line " + strconv.Itoa(rec.Line)
	next := updated(cur, upd, note)
	if !differs(cur, next) {
		return "", nil // already in this state: no version, no note, nothing routed
	}
	version, changed, err := tx.PutResource(ctx, "Appointment", id, next.JSON())
	if err != nil {
		return "", err
	}
	if changed {
		fr.Updated++
		if p.opt.Router != nil {
			if err := p.opt.Router.Route(ctx, tx, "Appointment", id, version, next); err != nil {
				return "", fmt.Errorf("queueing deliveries of Appointment %s: %w", id, err)
			}
		}
		if p.opt.EHRFlow != "" {
			if err := p.queuePush(ctx, tx, id, version); err != nil {
				return "", err
			}
		}
	}
	if next.GetString("status") == "cancelled" && cur.GetString("status") != "cancelled" {
		fr.CancelledCount++
		if len(fr.Cancelled) < MaxListed {
			fr.Cancelled = append(fr.Cancelled, id)
		}
	}
	return "", nil
}

// updated returns a copy of the stored Appointment cur with the mapped
// fields of upd (all but resourceType and id) and the provenance note.
// cancelationReason is removed when upd has none and the new status is
// neither cancelled nor noshow.
func updated(cur, upd *fhir.Value, note string) *fhir.Value {
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), cur.Members...)}
	for _, m := range upd.Members {
		if m.Key != "resourceType" && m.Key != "id" {
			out.Set(m.Key, m.Value)
		}
	}
	if st := out.GetString("status"); upd.Get("cancelationReason") == nil && st != "cancelled" && st != "noshow" {
		out.Members = without(out.Members, "cancelationReason")
	}
	ext := &fhir.Value{Kind: fhir.Array}
	if old := cur.Get("extension"); old != nil && old.Kind == fhir.Array {
		for _, it := range old.Items {
			if it.GetString("url") != SourceExtensionURL {
				ext.Items = append(ext.Items, it)
			}
		}
	}
	mine := fhir.NewObject()
	mine.Set("url", fhir.NewString(SourceExtensionURL))
	mine.Set("valueString", fhir.NewString(note))
	ext.Items = append(ext.Items, mine)
	out.Set("extension", ext)
	return out
}

// differs reports whether next changes a field the update owns (status,
// cancelationReason or another mapped field) compared with cur; the
// provenance note alone does not count.
func differs(cur, next *fhir.Value) bool {
	for _, m := range next.Members {
		if m.Key == "extension" {
			continue
		}
		if old := cur.Get(m.Key); old == nil || string(old.JSON()) != string(m.Value.JSON()) {
			return true
		}
	}
	return cur.Get("cancelationReason") != nil && next.Get("cancelationReason") == nil
}

// without returns members minus the one named key.
func without(members []fhir.Member, key string) []fhir.Member {
	out := members[:0]
	for _, m := range members {
		if m.Key != key {
			out = append(out, m)
		}
	}
	return out
}
