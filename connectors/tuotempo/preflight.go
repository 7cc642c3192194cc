package tuotempo

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// preflight opens the files of the remote that serve reads (the SFTP
// known_hosts and private key, the FTP CA, the local folder; relative to
// base, the config's folder, as serve reads them) and checks that each
// holds what it should, each error naming its key. It does not connect.
func (t *Config) preflight(base string) []error {
	const p = section + ".remote."
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", p, key, err))
		}
	}
	r := t.Remote
	switch r.Kind {
	case "sftp":
		if r.KnownHosts != "" {
			if _, err := knownhosts.New(rel(base, r.KnownHosts)); err != nil {
				add("known_hosts", err)
			}
		}
		if r.HostKeyFingerprint != "" {
			add("host_key_fingerprint", checkFingerprint(r.HostKeyFingerprint))
		}
		if r.KeyFile != "" {
			add("key_file", readSSHKey(rel(base, r.KeyFile), r.KeyPassphrase))
		}
	case "ftp":
		if r.CAFile != "" {
			add("ca_file", connectors.ReadCAs(rel(base, r.CAFile)))
		}
	case "local":
		if r.Dir != "" {
			add("dir", connectors.IsDir(rel(base, r.Dir)))
		}
	}
	return errs
}

// readSSHKey reads and parses an SSH private key, unlocking it with
// passphrase when set. The parser's messages name no key material.
func readSSHKey(path string, passphrase connectors.Secret) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if passphrase != "" {
		_, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase.Reveal()))
	} else {
		_, err = ssh.ParsePrivateKey(pem)
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return fmt.Errorf("%s is encrypted: set key_passphrase", path)
	case err != nil:
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}

// checkFingerprint accepts "SHA256:" and a base64 SHA-256 digest, as
// ssh-keygen -lf prints it.
func checkFingerprint(s string) error {
	d, ok := strings.CutPrefix(strings.TrimSpace(s), "SHA256:")
	if sum, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(d, "=")); !ok || err != nil || len(sum) != 32 {
		return errors.New(`want "SHA256:" and the base64 digest ssh-keygen -lf prints`)
	}
	return nil
}
