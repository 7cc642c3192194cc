package solo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Webhook payload encryption, as the spec's "Add Webhook" section lays it
// out (teladoc-solo-external-api.txt, Webhooks):
//
//	[$salt, $iv, $encryptedString] = [
//	    base64_decode(substr($encryptedString, 0, 12)),
//	    base64_decode(substr($encryptedString, 12, 24)),
//	    base64_decode(substr($encryptedString, 36)),
//	];
//	$secret = hash('SHA256', $decryptionKey . $salt, true);
//	$decrypted = openssl_decrypt($encryptedString, 'AES-256-CBC', $secret, 1, $iv);
//
// So the payload is Base64(salt, 8 bytes → 12 characters) +
// Base64(IV, 16 bytes → 24 characters) + Base64(ciphertext); the key is
// SHA-256 of the encryptionKey string exactly as Solo returned it (not
// Base64-decoded) followed by the raw salt; the cipher is AES-256-CBC with
// PKCS#7 padding (openssl_decrypt's default; option 1 is OPENSSL_RAW_DATA,
// the ciphertext already decoded).

const (
	whSaltLen    = 8
	whSaltB64Len = 12
	whIVB64Len   = 24
	whHeaderLen  = whSaltB64Len + whIVB64Len
	// MaxPayload bounds an encrypted payload's length in characters.
	MaxPayload = 64 << 10
)

// ErrPayload is the one error of DecryptPayload, whatever was wrong (bad
// Base64, wrong lengths, wrong key, bad padding, not JSON): telling the
// causes apart would make a padding oracle.
var ErrPayload = errors.New("solo webhook payload is not decryptable")

// DecryptPayload decrypts one webhook payload with key (the subscription's
// encryptionKey) and returns the JSON it holds, or ErrPayload.
//
// It does the same work for every input of a given length: a part that
// does not decode is replaced by zeros of the expected size and decrypted
// all the same, the PKCS#7 padding is checked in constant time, and the
// JSON check runs on the result whether or not the padding was good; the
// verdicts are combined only at the end.
func DecryptPayload(key string, payload []byte) ([]byte, error) {
	ok := 1
	if len(payload) < whHeaderLen+whIVB64Len || len(payload) > MaxPayload {
		ok = 0
		payload = whFitPayload(payload)
	}
	salt, good := whDecodePart(payload[:whSaltB64Len], whSaltLen)
	ok &= good
	iv, good := whDecodePart(payload[whSaltB64Len:whHeaderLen], aes.BlockSize)
	ok &= good
	body := payload[whHeaderLen:]
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	n, err := base64.StdEncoding.Decode(raw, body)
	if err != nil || n == 0 || n%aes.BlockSize != 0 {
		ok = 0
	}
	// decrypt n bytes rounded up to whole blocks (at least one), whatever
	// was wrong, so the work depends on the length only
	ct := make([]byte, max(aes.BlockSize, (len(raw)+aes.BlockSize-1)/aes.BlockSize*aes.BlockSize))
	copy(ct, raw[:n])
	if ok == 1 {
		ct = ct[:n]
	}

	h := sha256.New()
	h.Write([]byte(key))
	h.Write(salt)
	block, err := aes.NewCipher(h.Sum(nil))
	if err != nil {
		return nil, ErrPayload // cannot happen: the key is 32 bytes
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)

	pad, good := whUnpad(plain)
	ok &= good
	out := plain[:len(plain)-pad]
	if json.Valid(out) {
		ok &= 1
	} else {
		ok = 0
	}
	if ok != 1 {
		return nil, ErrPayload
	}
	return out, nil
}

// whFitPayload gives an input of the wrong length the minimal shape, so the
// same steps still run over it.
func whFitPayload(p []byte) []byte {
	out := make([]byte, whHeaderLen+whIVB64Len)
	for i := range out {
		out[i] = 'A'
	}
	copy(out, p)
	return out
}

// whDecodePart decodes one Base64 part that must give exactly n bytes; on
// failure it returns n zero bytes and 0.
func whDecodePart(src []byte, n int) ([]byte, int) {
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	m, err := base64.StdEncoding.Decode(buf, src)
	if err != nil || m != n {
		return make([]byte, n), 0
	}
	return buf[:n], 1
}

// whUnpad checks PKCS#7 padding in constant time and returns the pad length
// (0 when bad) and 1 when good.
func whUnpad(b []byte) (int, int) {
	last := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, last) & subtle.ConstantTimeLessOrEq(last, aes.BlockSize)
	for i := 0; i < aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i+1, last)
		same := subtle.ConstantTimeByteEq(b[len(b)-1-i], byte(last))
		good &= subtle.ConstantTimeSelect(inPad, same, 1)
	}
	return subtle.ConstantTimeSelect(good, last, 0), good
}

// EncryptPayload encrypts plain for a webhook the way Solo does, with a
// random salt and IV read from rnd: for tests, simulators and replaying a
// captured event to a receiver.
func EncryptPayload(key string, plain []byte, rnd io.Reader) (string, error) {
	salt := make([]byte, whSaltLen)
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("encrypting webhook payload: %w", err)
	}
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return "", fmt.Errorf("encrypting webhook payload: %w", err)
	}
	k := sha256.Sum256(append([]byte(key), salt...))
	block, _ := aes.NewCipher(k[:])
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append([]byte(nil), plain...)
	for range pad {
		buf = append(buf, byte(pad))
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	enc := base64.StdEncoding
	return enc.EncodeToString(salt) + enc.EncodeToString(iv) + enc.EncodeToString(buf), nil
}
