package inbound

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// errChanged reports a file whose size changed while it was processed.
var errChanged = errors.New("the file changed while it was processed; it is left in place")

// finish moves a processed file to the processed folder (outcome ok) or
// the error folder (anything else), writes its sidecar report there and
// removes its done marker. A file of the same name already there is kept:
// the new one is then named "<base>.<ledger id><ext>". The report is written before the move: if the
// bridge stops between the two, the file is still in place and the next
// poll writes both again (the report is rendered from the ledger entry, so
// it comes out the same).
func (p *Poller) finish(ctx context.Context, remote connectors.Remote, name string, e ledger.Entry, fr *FileReport) error {
	if info, err := remote.Stat(ctx, name); errors.Is(err, connectors.ErrNotExist) {
		// another process finished it first (it held the file after this
		// one lost its claim): nothing left to do here
		return nil
	} else if err != nil {
		return fmt.Errorf("checking %s before moving it: %w", name, err)
	} else if info.Size != fr.Size {
		// written to while processed: leave it; its new content gets a new
		// hash and is applied again (unchanged rows write nothing)
		return fmt.Errorf("moving %s: %w", name, errChanged)
	}
	dir := p.spec.ErrorDir
	if e.Outcome == ledger.OutcomeOK {
		dir = p.spec.ProcessedDir
	}
	dest := path.Join(p.spec.Dir, dir, path.Base(name))
	if dest != name {
		if _, err := remote.Stat(ctx, dest); err == nil {
			// a vendor reusing a name: keep the earlier file, name this
			// one after its ledger entry (the same again on recovery)
			ext := path.Ext(dest)
			dest = strings.TrimSuffix(dest, ext) + "." + strconv.FormatInt(e.ID, 10) + ext
		} else if !errors.Is(err, connectors.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", dest, err)
		}
	}
	if _, err := remote.Put(ctx, dest+ReportSuffix, strings.NewReader(renderReport(e))); err != nil {
		return fmt.Errorf("writing the report of %s: %w", name, err)
	}
	if dest != name {
		if err := remote.Move(ctx, name, dest); errors.Is(err, connectors.ErrNotExist) {
			return nil // moved by another process meanwhile
		} else if err != nil {
			return fmt.Errorf("moving %s to %s: %w", name, dest, err)
		}
		// a file reprocessed out of the error folder leaves its old report
		if err := remote.Remove(ctx, name+ReportSuffix); err != nil && !errors.Is(err, connectors.ErrNotExist) {
			return fmt.Errorf("removing the old report of %s: %w", name, err)
		}
	}
	fr.MovedTo = dest
	if p.spec.DoneMarker != "" {
		if err := remote.Remove(ctx, name+p.spec.DoneMarker); err != nil && !errors.Is(err, connectors.ErrNotExist) {
			return fmt.Errorf("removing the done marker of %s: %w", name, err)
		}
	}
	return nil
}
