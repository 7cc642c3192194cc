package ftpremote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"

	"github.com/jlaffaye/ftp"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// replyCode returns the FTP reply code of err, or 0.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// classify wraps err under the action phrase: 530 (not logged in) and an
// untrusted certificate NeedsReconnect; 550 (file unavailable) Permanent
// and matching ErrNotExist; other 5xx Permanent; 4xx and network faults
// Transient.
func classify(ctx context.Context, action string, err error) error {
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	code := replyCode(err)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", action, context.Cause(ctx))
	case code == ftp.StatusNotLoggedIn:
		return connectors.NeedsReconnect(fmt.Errorf("%s: %w", action, err))
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne):
		return connectors.NeedsReconnect(fmt.Errorf("%s: server certificate not trusted: %w", action, err))
	case code == ftp.StatusFileUnavailable:
		return connectors.Permanently(fmt.Errorf("%s: %w", action, connectors.ErrNotExist))
	case code >= 500:
		return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
	default:
		return connectors.Transiently(fmt.Errorf("%s: %w", action, err), 0)
	}
}

// badName classifies a refused name.
func badName(action string, err error) error {
	return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
}
