package report

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"

	"github.com/yeka/zip"
)

// Sentinel errors of Archive, matched with errors.Is.
var (
	// ErrPassword: the password does not open the archive's CSV (found
	// early by the password check bytes, or only at the end of the data
	// by the CRC-32 or the AES authentication code).
	ErrPassword = errors.New("the zip password is wrong")
	// ErrCorrupt: the archive is truncated or altered (no central
	// directory, a short entry, a CRC-32 or length mismatch).
	ErrCorrupt = errors.New("the zip archive is truncated or corrupt")
	// ErrNoReport: the archive does not hold exactly one CSV file.
	ErrNoReport = errors.New("the zip archive does not hold exactly one CSV report")
)

// zipMagic starts a zip archive (a local file header).
var zipMagic = []byte("PK\x03\x04")

// IsZip reports whether the data at the start of r is a zip archive.
func IsZip(r io.ReaderAt) bool {
	var b [4]byte
	n, _ := r.ReadAt(b[:], 0)
	return n == 4 && bytes.Equal(b[:], zipMagic)
}

// Archive is the password-locked zip of a report: one CSV file, encrypted
// with WinZip AES (AE-1 or AE-2, any key length) or traditional ZipCrypto,
// stored or deflated. yeka/zip reads the directory; the data is decrypted
// here, streaming (see openZipCrypto and openAES for why).
type Archive struct {
	f        *zip.File
	ra       io.ReaderAt
	password string
}

// OpenArchive reads the central directory of the zip in ra (size bytes)
// and finds its CSV. It does not check the password: Verify does.
func OpenArchive(ra io.ReaderAt, size int64, password string) (*Archive, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	var csv []*zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		csv = append(csv, f)
	}
	if len(csv) != 1 {
		return nil, fmt.Errorf("%w (it holds %d files)", ErrNoReport, len(csv))
	}
	f := csv[0]
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return nil, fmt.Errorf("%w: compression method %d is not supported (stored or deflated only)", ErrCorrupt, f.Method)
	}
	return &Archive{f: f, ra: ra, password: password}, nil
}

// Encrypted reports whether the CSV is password-locked.
func (a *Archive) Encrypted() bool { return a.f.IsEncrypted() }

// Size is the CSV's uncompressed size in bytes, as the archive declares it.
func (a *Archive) Size() int64 { return int64(a.f.UncompressedSize64) }

// Verify reads the whole CSV once — decrypting, inflating, checking the
// length, the CRC-32 and (WinZip AES) the authentication code — and
// discards it. It returns nil only when Open will yield exactly the data
// the archive was made from. progress, when set, gets the bytes checked.
func (a *Archive) Verify(ctx context.Context, progress func(n int64)) error {
	rc, err := a.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := rc.Read(buf)
		n += int64(k)
		if progress != nil && k > 0 {
			progress(n)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Open returns the CSV, decrypted and inflated as it is read. Its Read
// fails with ErrPassword or ErrCorrupt at the end when the check fails, so
// call Verify first to learn that before applying anything.
func (a *Archive) Open() (io.ReadCloser, error) {
	f := a.f
	if !f.IsEncrypted() {
		off, err := f.DataOffset()
		if err != nil {
			return nil, classifyZip(err)
		}
		return a.inflate(io.NewSectionReader(a.ra, off, int64(f.CompressedSize64)), false), nil
	}
	if a.password == "" {
		return nil, fmt.Errorf("%w: the archive is password-locked and no password was given", ErrPassword)
	}
	if version, keyLen, ok := aesInfo(f.Extra); ok {
		return a.openAES(version, keyLen)
	}
	return a.openZipCrypto()
}

// inflate wraps the entry's (decrypted) data in the inflater its method
// needs and the length and CRC-32 check.
func (a *Archive) inflate(r io.Reader, encrypted bool) *crcReader {
	var closer io.Closer = io.NopCloser(nil)
	if a.f.Method == zip.Deflate {
		fr := flate.NewReader(r)
		r, closer = fr, fr
	}
	return &crcReader{r: r, c: closer, h: crc32.NewIEEE(), want: a.f.CRC32, size: a.f.UncompressedSize64, encrypted: encrypted}
}

// openZipCrypto decrypts traditional PKWARE encryption (APPNOTE 6.1)
// streaming: 12 header bytes whose last one checks the password (the high
// byte of the CRC-32, or of the modification time when a data descriptor
// follows; a wrong password passes it once in 256 times), then the data;
// the CRC-32 at the end catches what the check byte let through. yeka/zip's
// own ZipCrypto reader loads the whole entry into memory.
func (a *Archive) openZipCrypto() (io.ReadCloser, error) {
	f := a.f
	off, err := f.DataOffset()
	if err != nil {
		return nil, classifyZip(err)
	}
	size := int64(f.CompressedSize64)
	if size < 12 {
		return nil, fmt.Errorf("%w: encrypted entry shorter than its header", ErrCorrupt)
	}
	sr := io.NewSectionReader(a.ra, off, size)
	zc := zip.NewZipCrypto([]byte(a.password))
	hdr := make([]byte, 12)
	if _, err := io.ReadFull(sr, hdr); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	plain := zc.Decrypt(hdr)
	check := byte(f.CRC32 >> 24)
	if f.Flags&0x8 != 0 {
		check = byte(f.ModifiedTime >> 8)
	}
	if plain[11] != check {
		return nil, ErrPassword
	}
	return a.inflate(&zipCryptoReader{r: sr, z: zc}, true), nil
}

// zipCryptoReader decrypts ZipCrypto data as it is read.
type zipCryptoReader struct {
	r io.Reader
	z *zip.ZipCrypto
}

func (z *zipCryptoReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if n > 0 {
		copy(p, z.z.Decrypt(p[:n]))
	}
	return n, err
}

// crcReader checks the length and the CRC-32 (and atEOF's check) when the
// data ends. With encrypted data a mismatch most likely means a wrong
// password that passed the early check, and is reported as ErrPassword.
type crcReader struct {
	r         io.Reader
	c         io.Closer
	h         hash.Hash32 // nil: no CRC (WinZip AE-2)
	n         uint64
	want      uint32
	size      uint64
	encrypted bool
	// atEOF, when set, runs a last check once the data has ended.
	atEOF func() error
	err   error
}

func (c *crcReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if c.n+uint64(n) > c.size {
		// more data than the archive declares: stop here, so a lying
		// header cannot inflate past the size the caller checked
		c.err = fmt.Errorf("%w: the entry inflates past its declared %d bytes", ErrCorrupt, c.size)
		return 0, c.err
	}
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += uint64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		err = c.atEnd()
	case c.encrypted:
		// inflating garbage: a wrong password that passed the early check,
		// or altered data; the authentication code or CRC tells which
		err = fmt.Errorf("%w (the data does not inflate): %w", ErrPassword, ErrCorrupt)
	default:
		err = classifyZip(err)
	}
	c.err = err
	return n, err
}

// atEnd checks the length, then atEOF, then the CRC-32.
func (c *crcReader) atEnd() error {
	if c.n != c.size {
		return fmt.Errorf("%w: %d bytes of %d", ErrCorrupt, c.n, c.size)
	}
	if c.atEOF != nil {
		if err := c.atEOF(); err != nil {
			return err
		}
	}
	if c.h != nil && c.h.Sum32() != c.want {
		if c.encrypted {
			return fmt.Errorf("%w (the CRC-32 does not match)", ErrPassword)
		}
		return fmt.Errorf("%w: CRC-32 mismatch", ErrCorrupt)
	}
	return io.EOF
}

func (c *crcReader) Close() error { return c.c.Close() }

// classifyZip turns yeka/zip, flate and short-read errors into ErrCorrupt
// (keeping the cause).
func classifyZip(err error) error {
	if errors.Is(err, ErrPassword) || errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}
