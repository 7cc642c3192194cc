package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// AssertionLifetime is how long a client assertion is valid: SMART asks
// for no more than five minutes.
const AssertionLifetime = 4 * time.Minute

// AssertionType is the client_assertion_type of private_key_jwt.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Assertion returns a signed client assertion (RFC 7523 §2.2, SMART
// Backend Services): header {alg, typ: JWT, kid}; claims iss = sub =
// clientID, aud = tokenURL, jti (128 random bits), iat = now and exp =
// now + AssertionLifetime. key must suit alg (see ParsePrivateKey).
func Assertion(clientID, tokenURL, keyID, alg string, key crypto.Signer, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("client assertion: random jti: %w", err)
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if keyID != "" {
		header["kid"] = keyID
	}
	claims := map[string]any{
		"iss": clientID, "sub": clientID, "aud": tokenURL,
		"jti": hex.EncodeToString(jti),
		"iat": now.Unix(), "exp": now.Add(AssertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("client assertion header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("client assertion claims: %w", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sig, err := sign(alg, key, []byte(signing))
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// sign signs data with SHA-384: RSASSA-PKCS1-v1_5 for RS384, ECDSA P-384
// for ES384 with r and s as 48 big-endian bytes each (RFC 7518 §3.4).
func sign(alg string, key crypto.Signer, data []byte) ([]byte, error) {
	sum := sha512.Sum384(data)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != RS384 {
			break
		}
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA384, sum[:])
		if err != nil {
			return nil, fmt.Errorf("client assertion: signing with the RSA key: %w", err)
		}
		return sig, nil
	case *ecdsa.PrivateKey:
		if alg != ES384 {
			break
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			return nil, fmt.Errorf("client assertion: signing with the EC key: %w", err)
		}
		out := make([]byte, 96)
		r.FillBytes(out[:48])
		s.FillBytes(out[48:])
		return out, nil
	}
	return nil, fmt.Errorf("client assertion: the key does not suit alg %q", alg)
}

// Verify checks a compact JWS signed with alg by the public key pub
// (*rsa.PublicKey or *ecdsa.PublicKey) and returns its decoded claims. It
// is the check a token endpoint makes; the bridge uses it in tests and in
// `check` to prove a configured key pair.
func Verify(jws, alg string, pub crypto.PublicKey) (map[string]any, error) {
	enc := base64.RawURLEncoding
	var parts [3]string
	rest := jws
	for i := range 2 {
		j := indexDot(rest)
		if j < 0 {
			return nil, errors.New("not a compact JWS (three dot-separated parts)")
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	parts[2] = rest
	if indexDot(rest) >= 0 {
		return nil, errors.New("not a compact JWS (three dot-separated parts)")
	}
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("JWS header is not base64url")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &header) != nil || header.Alg != alg {
		return nil, fmt.Errorf("JWS header: want alg %s", alg)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("JWS signature is not base64url")
	}
	sum := sha512.Sum384([]byte(parts[0] + "." + parts[1]))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg != RS384 || rsa.VerifyPKCS1v15(k, crypto.SHA384, sum[:], sig) != nil {
			return nil, errors.New("JWS signature does not verify")
		}
	case *ecdsa.PublicKey:
		if alg != ES384 || len(sig) != 96 ||
			!ecdsa.Verify(k, sum[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])) {
			return nil, errors.New("JWS signature does not verify")
		}
	default:
		return nil, fmt.Errorf("JWS: unsupported public key %T", pub)
	}
	cb, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("JWS claims are not base64url")
	}
	var claims map[string]any
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, errors.New("JWS claims are not a JSON object")
	}
	return claims, nil
}

func indexDot(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
