package sftpremote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pkg/sftp"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// isNotExist reports a missing file, however the client reported it.
func isNotExist(err error) bool {
	var se *sftp.StatusError
	return errors.Is(err, fs.ErrNotExist) || errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxNoSuchFile
}

// classify wraps an operation's error under the action phrase: a missing
// file Permanent and matching ErrNotExist; a refused permission or an
// unsupported request Permanent; the rest (lost connection, timeouts, a
// generic server failure such as a full disk) Transient.
func classify(ctx context.Context, action string, err error) error {
	var se *sftp.StatusError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", action, context.Cause(ctx))
	case isNotExist(err):
		return connectors.Permanently(fmt.Errorf("%s: %w", action, connectors.ErrNotExist))
	case errors.Is(err, fs.ErrPermission):
		return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
	case errors.As(err, &se) && (se.FxCode() == sftp.ErrSSHFxPermissionDenied || se.FxCode() == sftp.ErrSSHFxOpUnsupported || se.FxCode() == sftp.ErrSSHFxBadMessage):
		return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
	default:
		return connectors.Transiently(fmt.Errorf("%s: %w", action, err), 0)
	}
}

// badName classifies a refused name.
func badName(action string, err error) error {
	return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
}
