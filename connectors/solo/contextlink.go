package solo

// Context-aware links (spec: "Context Aware Linking"). The JSON context is
// encrypted with AES-256-CBC (PKCS#7 padding) under
// key = SHA-256(secret ‖ salt), with a random 8-byte salt and 16-byte IV
// per link, and passed as the arg query parameter of
// GET /integrations/linking as
//
//	URL-encode(Base64(salt) + Base64(IV) + Base64(ciphertext))
//
// with standard, padded Base64: 12 characters of salt, 24 of IV, then the
// ciphertext (the spec: "First 12 bytes is salt, next 24 bytes is IV and
// the rest is our encrypted data").

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Lengths of the parts of a context link argument.
const (
	ContextSaltLen = 8  // bytes of salt
	ContextIVLen   = 16 // bytes of IV
	saltB64Len     = 12 // Base64 characters of the salt
	ivB64Len       = 24 // Base64 characters of the IV
)

// ErrContextArg: a context link argument that is not salt, IV and
// ciphertext in the spec's layout, or that does not decrypt under the
// secret. The message never quotes the argument.
var ErrContextArg = errors.New("not a context link argument of this secret")

// ContextKey derives the AES-256 key of a context link: SHA-256 of the
// secret followed by the salt.
func ContextKey(secret, salt []byte) [32]byte {
	h := sha256.New()
	h.Write(secret)
	h.Write(salt)
	return [32]byte(h.Sum(nil))
}

// EncryptContext encrypts plain (the JSON context) under secret and returns
// the URL-encoded arg. Salt and IV are read from random (crypto/rand when
// nil), fresh for every call.
func EncryptContext(secret, plain []byte, random io.Reader) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("encrypting a context link: the secret is empty")
	}
	if random == nil {
		random = rand.Reader
	}
	var saltIV [ContextSaltLen + ContextIVLen]byte
	if _, err := io.ReadFull(random, saltIV[:]); err != nil {
		return "", fmt.Errorf("encrypting a context link: drawing salt and IV: %w", err)
	}
	salt, iv := saltIV[:ContextSaltLen], saltIV[ContextSaltLen:]
	key := ContextKey(secret, salt)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return "", fmt.Errorf("encrypting a context link: %w", err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	enc := base64.StdEncoding
	return url.QueryEscape(enc.EncodeToString(salt) + enc.EncodeToString(iv) + enc.EncodeToString(buf)), nil
}

// SplitContextArg splits a context link argument, URL-encoded or already
// decoded, into salt, IV and ciphertext, checking the layout only.
func SplitContextArg(arg string) (salt, iv, ct []byte, err error) {
	if strings.Contains(arg, "%") { // URL-encoded; Base64 has no '%'
		s, err := url.PathUnescape(arg) // '+' is Base64 here, not a space
		if err != nil {
			return nil, nil, nil, ErrContextArg
		}
		arg = s
	}
	if len(arg) < saltB64Len+ivB64Len+4 {
		return nil, nil, nil, ErrContextArg
	}
	enc := base64.StdEncoding.Strict()
	salt, e1 := enc.DecodeString(arg[:saltB64Len])
	iv, e2 := enc.DecodeString(arg[saltB64Len : saltB64Len+ivB64Len])
	ct, e3 := enc.DecodeString(arg[saltB64Len+ivB64Len:])
	if e1 != nil || e2 != nil || e3 != nil || len(salt) != ContextSaltLen || len(iv) != ContextIVLen ||
		len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, nil, nil, ErrContextArg
	}
	return salt, iv, ct, nil
}

// DecryptContext reverses EncryptContext: it returns the JSON context of
// arg, or an error wrapping ErrContextArg (the same for every malformed or
// undecryptable argument).
func DecryptContext(secret []byte, arg string) ([]byte, error) {
	salt, iv, ct, err := SplitContextArg(arg)
	if err != nil {
		return nil, err
	}
	key := ContextKey(secret, salt)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("decrypting a context link: %w", err)
	}
	buf := append([]byte{}, ct...)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(buf[len(buf)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrContextArg
	}
	return buf[:len(buf)-pad], nil
}
