package sftpremote

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// fuzzKey is a fixed key the known_hosts fuzzer presents; keyText is its
// base64 form as a known_hosts line holds it.
var fuzzKey, keyText = func() (ssh.Signer, string) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		panic(err)
	}
	return s, base64.StdEncoding.EncodeToString(s.PublicKey().Marshal())
}()

func writeFile(p, content string) error { return os.WriteFile(p, []byte(content), 0o600) }

func configWithKnownHosts(p string) connectors.RemoteConfig {
	return connectors.RemoteConfig{KnownHosts: p}
}
