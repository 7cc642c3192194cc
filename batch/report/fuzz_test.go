package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/yeka/zip"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// FuzzArchive: any bytes as a report zip, with any password, either fail
// with a classified error or yield data that passed every check; never a
// panic, and never more than the declared size.
func FuzzArchive(f *testing.F) {
	content := "appointmentId,status\n1,completed\n"
	f.Add(makeZip(f, "r.csv", content, "pw", zip.AES256Encryption), "pw")
	f.Add(makeZip(f, "r.csv", content, "pw", zip.StandardEncryption), "pw")
	f.Add(makeZip(f, "r.csv", content, "", 0), "")
	f.Add([]byte("PK\x03\x04garbage"), "x")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		a, err := OpenArchive(bytes.NewReader(data), int64(len(data)), password)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoReport) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		if a.Size() > 1<<20 {
			return // a huge declared size: not worth inflating here
		}
		if err := a.Verify(context.Background(), nil); err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrPassword) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		rc, err := a.Open()
		if err != nil {
			t.Fatalf("verified but Open fails: %v", err)
		}
		n, err := io.Copy(io.Discard, rc)
		if err != nil || n != a.Size() {
			t.Fatalf("verified but reading fails: %d bytes, %v", n, err)
		}
	})
}

// FuzzRun: any CSV text through the shipped mapping either refuses the
// header, or reads every row (mapped + refused = read) without panicking.
func FuzzRun(f *testing.F) {
	f.Add(simReport(f, 1, 3))
	f.Add("appointmentId,status\n1,x\n")
	f.Add("")
	f.Add("\xef\xbb\xbf" + strings.Join(solosim.ReportColumns, ";") + "\n;;;\n")
	m := shippedMapping(f)
	f.Fuzz(func(t *testing.T, csv string) {
		sink := NewNDJSON(io.Discard)
		sum, err := Run(context.Background(), Options{Mapping: m, In: strings.NewReader(csv), Sink: sink, Workers: 1})
		if sum == nil {
			if err == nil {
				t.Fatal("no summary and no error")
			}
			return
		}
		if sum.Mapped+sum.Refused+sum.Skipped != sum.Read {
			t.Fatalf("summary does not add up: %+v", sum)
		}
	})
}
