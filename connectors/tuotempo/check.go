package tuotempo

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// probeRemote logs in, lists the base folder and writes and removes a
// probe file.
func probeRemote(ctx context.Context, rc connectors.RemoteConfig) (string, error) {
	r, err := connectors.OpenRemote(ctx, rc)
	if err != nil {
		return "", remoteOpenReason(err)
	}
	defer r.Close()
	files, err := r.List(ctx, "")
	if err != nil {
		return "", bridge.Because("listing the base folder", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := ".fhirbridge-check-" + hex.EncodeToString(b[:])
	if _, err := r.Put(ctx, name, strings.NewReader("fhirbridge check --connect: write test, removed at once\n")); err != nil {
		return "", bridge.Because("no write permission (writing a probe file)", err)
	}
	if err := r.Remove(ctx, name); err != nil {
		return "", bridge.Because("wrote probe file "+name+" but could not remove it", err)
	}
	login := "login"
	if rc.Kind == "sftp" {
		login = "login, host key"
	} else if rc.Kind == "local" {
		login = "folder"
	}
	unit := "files"
	if len(files) == 1 {
		unit = "file"
	}
	return fmt.Sprintf("%s, list: %d %s, write and remove a probe file", login, len(files), unit), nil
}

// remoteOpenReason words a failed OpenRemote: a host key other than the
// pinned one, an untrusted certificate, a refused login, or no connection.
func remoteOpenReason(err error) error {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
	)
	class, _ := connectors.Classify(err)
	switch {
	case errors.Is(err, connectors.ErrHostKey):
		return bridge.Reason(hostKeyReason(err)+" (not logged in, nothing written)", err)
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne):
		return bridge.Because("TLS: server certificate not trusted", err)
	case class == connectors.Reconnect:
		return bridge.Because("login refused (user, password or key)", err)
	case class == connectors.Permanent:
		return bridge.Reason(err.Error(), err)
	default:
		return bridge.Because("cannot connect", err)
	}
}

// hostKeyReason is the message of the deepest error of err's chain that
// still matches ErrHostKey (other than ErrHostKey itself): "host key mismatch: server presented …,
// pinned …", without the connection phrase around it.
func hostKeyReason(err error) string {
	msg := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e != connectors.ErrHostKey && errors.Is(e, connectors.ErrHostKey) {
			msg = e.Error()
		}
	}
	return msg
}
