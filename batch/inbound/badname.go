package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// MaxNameLen bounds an inbound file's base name, in bytes: the name it may
// be given in processed/ or error/ ("<base>.<ledger id><ext>") and its
// report ("…" + ReportSuffix) must still fit the 255 bytes file systems
// allow.
const MaxNameLen = 200

// Rejected is a file refused for its name alone: too long, or holding a
// control character (a line break). Such a file is moved to the error
// folder under a clean name with a report saying why, instead of being
// retried on every poll.
type Rejected struct {
	// Name is the file's name, quoted and cut to 80 bytes (it is a file
	// name, never row content).
	Name string
	// Reason is a code: name_too_long or control_character.
	Reason string
	// MovedTo is its new name, "" when the move failed (Err).
	MovedTo string
	Err     error
}

// nameProblem returns the reason code for a base name the feed cannot
// carry, or "".
func nameProblem(base string) string {
	if strings.IndexFunc(base, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "control_character"
	}
	if len(base) > MaxNameLen {
		return "name_too_long"
	}
	return ""
}

// rejectName moves name aside to the error folder as
// "rejected-name-<hash>.<ext>" with a report, and counts it.
func (p *Poller) rejectName(ctx context.Context, remote connectors.Remote, name, reason string) Rejected {
	quoted := strconv.Quote(name)
	if len(quoted) > 80 {
		quoted = quoted[:80] + "…"
	}
	rj := Rejected{Name: quoted, Reason: reason}
	p.opt.Metrics.rejectName(p.spec.Name, reason)
	sum := sha256.Sum256([]byte(name))
	ext := path.Ext(path.Base(name))
	if nameProblem(ext) != "" || len(ext) > 10 {
		ext = ""
	}
	dest := path.Join(p.spec.Dir, p.spec.ErrorDir, "rejected-name-"+hex.EncodeToString(sum[:8])+ext)
	text := fmt.Sprintf("file: %s\noutcome: failed\nreason: %s (its name cannot be carried by the feed; rename it and put it back to process it)\n", quoted, reason)
	if _, err := remote.Put(ctx, dest+ReportSuffix, strings.NewReader(text)); err != nil {
		rj.Err = fmt.Errorf("writing the report of a rejected file name: %w", err)
		return rj
	}
	if err := remote.Move(ctx, name, dest); err != nil {
		rj.Err = fmt.Errorf("moving a rejected file name to %s: %w", dest, err)
		return rj
	}
	rj.MovedTo = dest
	return rj
}
