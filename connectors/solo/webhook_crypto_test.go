package solo

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testWebhookKey = "39VNjjSpgoUWMbUhVCjAoQ=="

// rawWebhookPayload encrypts already padded bytes, so tests can make bad
// padding; salt and iv are fixed unless given.
func rawWebhookPayload(t testing.TB, key string, padded []byte, salt, iv []byte) string {
	t.Helper()
	k := sha256.Sum256(append([]byte(key), salt...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		t.Fatal(err)
	}
	ct := bytes.Clone(padded)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	b := base64.StdEncoding
	return b.EncodeToString(salt) + b.EncodeToString(iv) + b.EncodeToString(ct)
}

func TestDecryptPayloadRoundTrip(t *testing.T) {
	for _, plain := range []string{`{}`, `{"event":{"type":"appointment:completed"},"data":{"appointmentId":5001}}`, `{"a":"` + strings.Repeat("x", 15) + `"}`} {
		p, err := EncryptPayload(testWebhookKey, []byte(plain), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecryptPayload(testWebhookKey, []byte(p))
		if err != nil || string(got) != plain {
			t.Errorf("round trip of %d bytes: %q, %v", len(plain), got, err)
		}
	}
}

// TestDecryptPayloadFollowsThePHP pins the layout the spec's PHP reads:
// 12 Base64 characters of salt, 24 of IV, the key SHA-256 of the key
// string (not decoded) and the raw salt.
func TestDecryptPayloadFollowsThePHP(t *testing.T) {
	salt := []byte("saltsalt")
	iv := []byte("0123456789abcdef")
	plain := []byte(`{"x":1}`)
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{9}, 9)...)
	p := rawWebhookPayload(t, testWebhookKey, padded, salt, iv)
	if p[:12] != base64.StdEncoding.EncodeToString(salt) || p[12:36] != base64.StdEncoding.EncodeToString(iv) {
		t.Fatalf("layout: %s", p)
	}
	got, err := DecryptPayload(testWebhookKey, []byte(p))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("got %q, %v", got, err)
	}
	// the Base64-decoded key is not the key material
	raw, _ := base64.StdEncoding.DecodeString(testWebhookKey)
	if _, err := DecryptPayload(string(raw), []byte(p)); !errors.Is(err, ErrPayload) {
		t.Fatalf("decoded key accepted: %v", err)
	}
}

// TestDecryptPayloadTampering covers RELIABILITY case 22: every bad
// payload gets the one error.
func TestDecryptPayloadTampering(t *testing.T) {
	salt, iv := []byte("saltsalt"), []byte("0123456789abcdef")
	good := rawWebhookPayload(t, testWebhookKey, append([]byte(`{"x":1}`), bytes.Repeat([]byte{9}, 9)...), salt, iv)
	b64 := base64.StdEncoding.EncodeToString
	cases := map[string]string{
		"empty":                           "",
		"ciphertext not a multiple of 16": good[:36] + b64(bytes.Repeat([]byte{1}, 20)),
		"iv of 12 bytes":                  good[:12] + b64([]byte("0123456789ab")) + "AAAAAAAA" + good[36:],
		"bad base64 in ciphertext":        good[:40] + "!!!!" + good[44:],
		"bad base64 in salt":              "*" + good[1:],
		"pad byte 0":                      rawWebhookPayload(t, testWebhookKey, append([]byte(`{"x":1}`), bytes.Repeat([]byte{0}, 9)...), salt, iv),
		"pad byte 17":                     rawWebhookPayload(t, testWebhookKey, append([]byte(`{"x":1}`), bytes.Repeat([]byte{17}, 9)...), salt, iv),
		"inconsistent pad bytes":          rawWebhookPayload(t, testWebhookKey, append([]byte(`{"x":1}`), 9, 9, 9, 9, 3, 9, 9, 9, 9), salt, iv),
		"valid padding, invalid JSON":     rawWebhookPayload(t, testWebhookKey, append([]byte(`{"x":1`), bytes.Repeat([]byte{10}, 10)...), salt, iv),
		"wrong secret":                    rawWebhookPayload(t, "another key", append([]byte(`{"x":1}`), bytes.Repeat([]byte{9}, 9)...), salt, iv),
		"truncated":                       good[:len(good)-4],
		"too short":                       good[:30],
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if out, err := DecryptPayload(testWebhookKey, []byte(p)); err != ErrPayload || out != nil {
				t.Fatalf("got %q, %v; want ErrPayload", out, err)
			}
		})
	}
	if _, err := DecryptPayload(testWebhookKey, []byte(good)); err != nil {
		t.Fatalf("the untampered payload: %v", err)
	}
}

func FuzzDecryptPayload(f *testing.F) {
	salt, iv := []byte("saltsalt"), []byte("0123456789abcdef")
	f.Add([]byte(rawWebhookPayload(f, testWebhookKey, append([]byte(`{"x":1}`), bytes.Repeat([]byte{9}, 9)...), salt, iv)))
	f.Add([]byte(""))
	f.Add([]byte("BizXKL9L4EQ=YuhTK5qXNtOCmbuaHMq5tA==DUPdvDCZPiSUf0Jumt/Mr/wVWv+mr6Vzj5LnKUQtTPc="))
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := DecryptPayload(testWebhookKey, p)
		if err != nil {
			if err != ErrPayload || out != nil {
				t.Fatalf("error %v with output %q", err, out)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("accepted non-JSON %q", out)
		}
		// what decrypts encrypts back to something that decrypts the same
		again, err := EncryptPayload(testWebhookKey, out, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := DecryptPayload(testWebhookKey, []byte(again)); err != nil || !bytes.Equal(back, out) {
			t.Fatalf("round trip: %q, %v", back, err)
		}
	})
}
