package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// JWK is a public JSON Web Key (RFC 7517) as a JWKS lists it.
type JWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	// RSA
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
	// EC
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS returns the JSON Web Key Set of key's public half, for the EHR's
// client registration (uploaded, or served at the JWKS URL the
// registration names). It holds no private part.
func JWKS(key crypto.Signer, kid, alg string) ([]byte, error) {
	if _, err := checkKey(key, alg); err != nil {
		return nil, err
	}
	enc := base64.RawURLEncoding
	k := JWK{Kid: kid, Alg: alg, Use: "sig", KeyOps: []string{"verify"}}
	switch p := key.Public().(type) {
	case *rsa.PublicKey:
		k.Kty, k.N, k.E = "RSA", enc.EncodeToString(p.N.Bytes()), enc.EncodeToString(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		x, y := make([]byte, 48), make([]byte, 48)
		p.X.FillBytes(x)
		p.Y.FillBytes(y)
		k.Kty, k.Crv, k.X, k.Y = "EC", "P-384", enc.EncodeToString(x), enc.EncodeToString(y)
	default:
		return nil, fmt.Errorf("JWKS: unsupported key %T", p)
	}
	return json.MarshalIndent(map[string][]JWK{"keys": {k}}, "", "  ")
}

// PublicKey returns the public key a JWK describes (RSA, or EC P-384).
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	dec := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := dec.DecodeString(k.N)
		e, err2 := dec.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("JWK: bad RSA n or e")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		if k.Crv != "P-384" {
			return nil, fmt.Errorf("JWK: curve %q, want P-384", k.Crv)
		}
		x, err1 := dec.DecodeString(k.X)
		y, err2 := dec.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != 48 || len(y) != 48 {
			return nil, errors.New("JWK: bad EC x or y")
		}
		b := append([]byte{4}, append(x, y...)...)
		return ecdsa.ParseUncompressedPublicKey(elliptic.P384(), b)
	}
	return nil, fmt.Errorf("JWK: kty %q, want RSA or EC", k.Kty)
}
