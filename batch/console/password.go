package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters of a password hash; they are stored
// with the hash, so raising the defaults later keeps old hashes valid.
type Params struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams are the parameters of new hashes: 64 MiB, 3 passes, 2
// lanes (about 0.1 s on a server core).
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 2}

// Bounds of a stored hash's parameters, so a tampered row cannot make a
// login allocate without limit.
const (
	saltLen       = 16
	keyLen        = 32
	maxHashLen    = 256
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxTime       = 64
	minPassword   = 8
	maxPassword   = 1024
	hashAlgorithm = "argon2id"
)

// ErrBadHash reports a stored password hash that is not one this package
// wrote.
var ErrBadHash = errors.New("malformed password hash")

// HashPassword hashes password with argon2id, a fresh random salt and p
// (DefaultParams when p is zero), in the PHC string format
// $argon2id$v=19$m=…,t=…,p=…$salt$key.
func HashPassword(password string, p Params) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	if p == (Params{}) {
		p = DefaultParams
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hashing a password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", hashAlgorithm, argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword says why password is not acceptable: too short or too long.
func CheckPassword(password string) error {
	switch n := len(password); {
	case n < minPassword:
		return fmt.Errorf("password too short: at least %d characters", minPassword)
	case n > maxPassword:
		return fmt.Errorf("password too long: at most %d bytes", maxPassword)
	}
	return nil
}

// parsedHash is a decoded PHC string.
type parsedHash struct {
	p    Params
	salt []byte
	key  []byte
}

// parseHash decodes a hash written by HashPassword, bounding every part.
func parseHash(s string) (parsedHash, error) {
	var h parsedHash
	if len(s) > maxHashLen {
		return h, fmt.Errorf("%w: longer than %d bytes", ErrBadHash, maxHashLen)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != hashAlgorithm {
		return h, fmt.Errorf("%w: want $argon2id$v=…$m=…,t=…,p=…$salt$key", ErrBadHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: version %q, want v=%d", ErrBadHash, parts[2], argon2.Version)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return h, fmt.Errorf("%w: parameters %q, want m=…,t=…,p=…", ErrBadHash, parts[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return h, fmt.Errorf("%w: parameter %d, want %s=<number>", ErrBadHash, i+1, name)
		}
		vals[i] = n
	}
	h.p = Params{Memory: uint32(vals[0]), Time: uint32(vals[1])}
	if vals[2] < 1 || vals[2] > 255 || vals[1] < 1 || vals[1] > maxTime || vals[0] < 8*vals[2] || vals[0] > maxMemoryKiB {
		return h, fmt.Errorf("%w: parameters out of bounds (m 8·p to %d KiB, t 1 to %d, p 1 to 255)", ErrBadHash, maxMemoryKiB, maxTime)
	}
	h.p.Threads = uint8(vals[2])
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return h, fmt.Errorf("%w: salt is not 8-64 bytes of unpadded base64", ErrBadHash)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, fmt.Errorf("%w: key is not 16-64 bytes of unpadded base64", ErrBadHash)
	}
	return h, nil
}

// VerifyPassword reports whether password matches hash (a string written
// by HashPassword), comparing in constant time.
func VerifyPassword(password, hash string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(password) > maxPassword {
		return false, nil
	}
	key := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}
