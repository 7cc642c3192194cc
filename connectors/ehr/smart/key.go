package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// The signing algorithms a client assertion may use (SMART Backend
// Services requires servers to support both).
const (
	RS384 = "RS384"
	ES384 = "ES384"
)

// minRSABits is the smallest RSA key accepted (SMART and NIST: 2048).
const minRSABits = 2048

// ParsePrivateKey reads the first private key of a PEM text — PKCS#1
// ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY";
// an "EC PARAMETERS" block before it is skipped) — and checks that it
// suits alg: an RSA key of at least 2048 bits for RS384, a P-384 key for
// ES384. Errors name the block type and the mismatch, never key bytes.
func ParsePrivateKey(pemText []byte, alg string) (crypto.Signer, error) {
	if alg != RS384 && alg != ES384 {
		return nil, fmt.Errorf("alg %q: want RS384 or ES384", alg)
	}
	rest := pemText
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key block (want RSA PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY)")
		}
		var key any
		var err error
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the PEM key is encrypted: give an unencrypted key (protect the file instead)")
		default:
			return nil, fmt.Errorf("PEM block %q is not a private key (want RSA PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY)", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: not a valid key", block.Type) // the parser's words may quote bytes
		}
		return checkKey(key, alg)
	}
}

// checkKey returns key as a signer when it suits alg.
func checkKey(key any, alg string) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != RS384 {
			return nil, fmt.Errorf("alg %s needs an EC P-384 key, the file holds an RSA key", alg)
		}
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("the RSA key has %d bits: want at least %d", k.N.BitLen(), minRSABits)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if alg != ES384 {
			return nil, fmt.Errorf("alg %s needs an RSA key, the file holds an EC key", alg)
		}
		if k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("the EC key is on %s: ES384 needs P-384", k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("the key is a %T: want RSA (RS384) or EC P-384 (ES384)", key)
}
