package report

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
)

// aesInfo reads the WinZip AES extra field (0x9901): the AE version and
// the key length. ok is false when the entry has none.
func aesInfo(extra []byte) (version int, keyLen int, ok bool) {
	b := extra
	for len(b) >= 4 {
		id := uint16(b[0]) | uint16(b[1])<<8
		size := int(uint16(b[2]) | uint16(b[3])<<8)
		if len(b) < 4+size {
			return 0, 0, false
		}
		if id == 0x9901 && size >= 7 {
			d := b[4 : 4+size]
			version = int(uint16(d[0]) | uint16(d[1])<<8)
			switch d[4] {
			case 1:
				keyLen = 16
			case 2:
				keyLen = 24
			case 3:
				keyLen = 32
			default:
				return 0, 0, false
			}
			return version, keyLen, true
		}
		b = b[4+size:]
	}
	return 0, 0, false
}

// openAES decrypts a WinZip AES entry (AE-1/AE-2) streaming: salt,
// 2-byte password verifier, AES-CTR data (little-endian counter from 1),
// 10-byte HMAC-SHA1 of the ciphertext. yeka/zip's own reader either
// buffers the whole entry or, streaming, checks the code only if the
// inflater happens to read to the very end; here the code is always
// checked, after the data, before Read reports io.EOF.
func (a *Archive) openAES(version, keyLen int) (io.ReadCloser, error) {
	f := a.f
	off, err := f.DataOffset()
	if err != nil {
		return nil, classifyZip(err)
	}
	saltLen := keyLen / 2
	size := int64(f.CompressedSize64)
	dataLen := size - int64(saltLen) - 2 - 10
	if dataLen < 0 {
		return nil, fmt.Errorf("%w: encrypted entry shorter than its header", ErrCorrupt)
	}
	head := make([]byte, saltLen+2)
	if _, err := a.ra.ReadAt(head, off); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	key, err := pbkdf2.Key(sha1.New, a.password, head[:saltLen], 1000, 2*keyLen+2)
	if err != nil {
		return nil, fmt.Errorf("deriving the zip key: %w", err)
	}
	if subtle.ConstantTimeCompare(key[2*keyLen:], head[saltLen:]) != 1 {
		return nil, ErrPassword
	}
	block, err := aes.NewCipher(key[:keyLen])
	if err != nil {
		return nil, fmt.Errorf("deriving the zip key: %w", err)
	}
	ar := &aesReader{
		data:  io.NewSectionReader(a.ra, off+int64(saltLen)+2, dataLen),
		code:  io.NewSectionReader(a.ra, off+int64(saltLen)+2+dataLen, 10),
		mac:   hmac.New(sha1.New, key[keyLen:2*keyLen]),
		block: block,
	}
	ar.ctr[0] = 1
	ar.used = len(ar.ks)
	cr := a.inflate(ar, true)
	if version == 2 {
		cr.h = nil // AE-2 stores no CRC: the authentication code stands for it
	}
	// the code covers every ciphertext byte, also those the inflater
	// never asks for: check it when the plaintext ends
	cr.atEOF = ar.finish
	return cr, nil
}

// aesReader decrypts WinZip AES-CTR and authenticates the ciphertext.
type aesReader struct {
	data, code io.Reader
	mac        hash.Hash
	block      interface{ Encrypt(dst, src []byte) }
	ctr        [16]byte
	ks         [16]byte
	used       int // bytes of ks consumed; 16 = none left
	checked    bool
}

func (a *aesReader) Read(p []byte) (int, error) {
	n, err := a.data.Read(p)
	if n > 0 {
		a.mac.Write(p[:n])
		a.xor(p[:n])
	}
	return n, err
}

func (a *aesReader) xor(p []byte) {
	for i := range p {
		if a.used == 16 {
			a.block.Encrypt(a.ks[:], a.ctr[:])
			for j := range a.ctr {
				a.ctr[j]++
				if a.ctr[j] != 0 {
					break
				}
			}
			a.used = 0
		}
		p[i] ^= a.ks[a.used]
		a.used++
	}
}

// finish reads what is left of the ciphertext into the MAC and compares
// the authentication code.
func (a *aesReader) finish() error {
	if a.checked {
		return nil
	}
	a.checked = true
	if _, err := io.Copy(a.mac, a.data); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	want := make([]byte, 10)
	if _, err := io.ReadFull(a.code, want); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if subtle.ConstantTimeCompare(a.mac.Sum(nil)[:10], want) != 1 {
		return fmt.Errorf("%w: the authentication code does not match (wrong password or altered archive)", ErrPassword)
	}
	return nil
}
