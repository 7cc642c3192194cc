package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/yeka/zip"
)

// makeZip returns a zip holding name with content, locked with password
// by enc (zip.AES256Encryption, zip.StandardEncryption...) or unlocked
// when password is "".
func makeZip(t testing.TB, name, content, password string, enc zip.EncryptionMethod) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var w io.Writer
	var err error
	if password == "" {
		w, err = zw.Create(name)
	} else {
		w, err = zw.Encrypt(name, password, enc)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readArchive(data []byte, password string) (string, error) {
	a, err := OpenArchive(bytes.NewReader(data), int64(len(data)), password)
	if err != nil {
		return "", err
	}
	if err := a.Verify(context.Background(), nil); err != nil {
		return "", err
	}
	rc, err := a.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestArchive(t *testing.T) {
	content := strings.Repeat("appointmentId,status\n5001,completed\n", 2000)
	encs := []struct {
		name string
		enc  zip.EncryptionMethod
	}{{"aes256", zip.AES256Encryption}, {"aes128", zip.AES128Encryption}, {"zipcrypto", zip.StandardEncryption}}
	for _, e := range encs {
		t.Run(e.name, func(t *testing.T) {
			data := makeZip(t, "report.csv", content, "s3cret £", e.enc)
			if !IsZip(bytes.NewReader(data)) {
				t.Fatal("IsZip false")
			}
			got, err := readArchive(data, "s3cret £")
			if err != nil || got != content {
				t.Fatalf("right password: err %v, %d bytes", err, len(got))
			}
			for _, pw := range []string{"wrong", "s3cret", "x"} {
				if _, err := readArchive(data, pw); !errors.Is(err, ErrPassword) {
					t.Errorf("password %q: %v, want ErrPassword", pw, err)
				}
			}
			if _, err := readArchive(data, ""); !errors.Is(err, ErrPassword) {
				t.Errorf("no password: %v", err)
			}
			for _, cut := range []int{len(data) - 1, len(data) - 30, len(data) / 2, 10} {
				if _, err := readArchive(data[:cut], "s3cret £"); !errors.Is(err, ErrCorrupt) {
					t.Errorf("truncated at %d: %v, want ErrCorrupt", cut, err)
				}
			}
			// one altered byte of the encrypted data
			alt := bytes.Clone(data)
			alt[60] ^= 0x40
			if _, err := readArchive(alt, "s3cret £"); err == nil {
				t.Error("altered archive accepted")
			}
		})
	}
	t.Run("unlocked", func(t *testing.T) {
		data := makeZip(t, "report.csv", content, "", 0)
		if got, err := readArchive(data, ""); err != nil || got != content {
			t.Fatalf("err %v", err)
		}
	})
}

// TestZipCryptoManyPasswords: a wrong password passing the one-byte check
// (1 in 256) is still refused, by the CRC-32 at the end.
func TestZipCryptoManyPasswords(t *testing.T) {
	data := makeZip(t, "r.csv", strings.Repeat("a,b\n1,2\n", 500), "right", zip.StandardEncryption)
	for i := 0; i < 2000; i++ {
		pw := "wrong" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		if _, err := readArchive(data, pw); !errors.Is(err, ErrPassword) {
			t.Fatalf("password %d: %v, want ErrPassword", i, err)
		}
	}
}

func TestArchiveMoreThanOneFile(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range []string{"a.csv", "b.csv"} {
		w, _ := zw.Create(n)
		io.WriteString(w, "x\n")
	}
	zw.Close()
	if _, err := OpenArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), ""); !errors.Is(err, ErrNoReport) {
		t.Fatalf("%v", err)
	}
}
