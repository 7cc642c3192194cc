package sftpremote

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// pin checks the server's host key against the configured pin.
type pin struct {
	known     ssh.HostKeyCallback // from KnownHosts, or nil
	knownFile string
	sum       string // canonical "SHA256:..." from HostKeyFingerprint, or ""
}

// newPin reads the host key settings; neither set is a configuration
// error, since no setting may accept any key.
func newPin(cfg connectors.RemoteConfig) (*pin, error) {
	p := &pin{knownFile: cfg.KnownHosts}
	if cfg.KnownHosts == "" && cfg.HostKeyFingerprint == "" {
		return nil, errors.New("no host key pinned: set KnownHosts (an OpenSSH known_hosts file) or HostKeyFingerprint (SHA256:... as ssh-keygen -lf prints it)")
	}
	if cfg.HostKeyFingerprint != "" {
		sum, err := parseFingerprint(cfg.HostKeyFingerprint)
		if err != nil {
			return nil, err
		}
		p.sum = sum
	}
	if cfg.KnownHosts != "" {
		cb, err := knownhosts.New(cfg.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("reading KnownHosts %s: %w", cfg.KnownHosts, err)
		}
		p.known = cb
	}
	return p, nil
}

// parseFingerprint checks a "SHA256:<base64>" fingerprint as
// ssh.FingerprintSHA256 and ssh-keygen -lf print it (padding optional)
// and returns it in that canonical form.
func parseFingerprint(s string) (string, error) {
	const prefix = "SHA256:"
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, prefix) {
		return "", errors.New(`invalid HostKeyFingerprint: want "SHA256:" and the base64 digest ssh-keygen -lf prints`)
	}
	sum, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s[len(prefix):], "="))
	if err != nil || len(sum) != 32 {
		return "", errors.New("invalid HostKeyFingerprint: the part after SHA256: is not a base64 SHA-256 digest")
	}
	return prefix + base64.RawStdEncoding.EncodeToString(sum), nil
}

// check is the ssh.HostKeyCallback: every configured pin must accept key.
func (p *pin) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	got := ssh.FingerprintSHA256(key)
	if p.known != nil {
		err := p.known(hostname, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return fmt.Errorf("%w: server presented %s key %s, known_hosts %s holds another", connectors.ErrHostKey, key.Type(), got, p.knownFile)
		case errors.As(err, &ke):
			return fmt.Errorf("%w: server presented %s key %s, known_hosts %s has no key for %s", connectors.ErrHostKey, key.Type(), got, p.knownFile, knownhosts.Normalize(hostname))
		case errors.As(err, &re):
			return fmt.Errorf("%w: server presented %s key %s, revoked in known_hosts %s", connectors.ErrHostKey, key.Type(), got, p.knownFile)
		case err != nil:
			return fmt.Errorf("%w: checking known_hosts %s: %v", connectors.ErrHostKey, p.knownFile, err)
		}
	}
	if p.sum != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.sum)) != 1 {
		return fmt.Errorf("%w: server presented %s key %s, pinned %s", connectors.ErrHostKey, key.Type(), got, p.sum)
	}
	return nil
}

// algorithms returns the host key algorithms to offer for addr: those of
// the keys known_hosts holds for it, so a server with several host keys
// presents the pinned one. nil means the library's defaults.
func (p *pin) algorithms(addr string) []string {
	if p.known == nil {
		return nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := p.known(addr, &net.TCPAddr{}, probe.PublicKey()); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		algos = append(algos, keyAlgorithms(k.Key.Type())...)
	}
	return slices.Compact(algos)
}

// keyAlgorithms lists the host key algorithms that present a key of
// type typ (an RSA key signs with SHA-2 or SHA-1).
func keyAlgorithms(typ string) []string {
	if typ == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{typ}
}
