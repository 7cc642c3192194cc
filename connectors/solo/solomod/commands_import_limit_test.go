package solomod

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yeka/zip"

	"github.com/fhirbridge/fhirbridge/batch/report"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// storedEncounters counts the Encounters in the test config's store and
// reports whether any is past version 1.
func storedEncounters(t *testing.T, dir string) (n int, versioned bool) {
	t.Helper()
	db := filepath.Join(dir, "data", "fhirbridge.db")
	if !fileExists(db) {
		return 0, false
	}
	st, err := store.Open(context.Background(), "sqlite://"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Current(context.Background(), "Encounter", func(_ string, v int, _ []byte) error {
		n++
		versioned = versioned || v > 1
		return nil
	})
	return n, versioned
}

// TestImportSoloCapAppliesNothing: a report over --max-rows or
// --max-bytes (a CSV or a zip) fails with exit 2, names the cap, and
// stores nothing even though the store commits in batches.
func TestImportSoloCapAppliesNothing(t *testing.T) {
	_, cfg, dir := importEnv(t)
	var csv bytes.Buffer
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	solosim.WriteReport(&csv, from, from.AddDate(0, 0, 29), 40) // 1200 rows: 3 store batches
	plain := filepath.Join(dir, "r.csv")
	os.WriteFile(plain, csv.Bytes(), 0o600)
	var zb bytes.Buffer
	solosim.WriteReportZip(&zb, "zip-secret", zip.AES256Encryption, func(w io.Writer) error {
		_, err := w.Write(csv.Bytes())
		return err
	})
	zipped := filepath.Join(dir, "r.zip")
	os.WriteFile(zipped, zb.Bytes(), 0o600)
	cases := []struct {
		name     string
		file     string
		maxRows  int
		maxBytes int64
		want     string
	}{
		{"csv rows", plain, 1199, 0, "more than 1199 rows"},
		{"csv bytes", plain, 0, int64(csv.Len()) - 1, "bytes of CSV text"},
		{"zip rows", zipped, 1000, 0, "more than 1000 rows"},
		{"zip bytes", zipped, 0, 4096, "bytes of CSV text"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			code, _, _, err := runTestImport(t, importFlags{configFile: cfg, file: tt.file, passwordEnv: "TEST_ZIP_PW", toStore: true, maxRows: tt.maxRows, maxBytes: tt.maxBytes})
			if code != 2 || !errors.Is(err, report.ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("code %d err %v", code, err)
			}
			if n, _ := storedEncounters(t, dir); n != 0 {
				t.Errorf("%d Encounters stored by a capped import", n)
			}
		})
	}
	code, _, _, err := runTestImport(t, importFlags{configFile: cfg, file: zipped, passwordEnv: "TEST_ZIP_PW", toStore: true, maxRows: 1200})
	if code != 0 || err != nil {
		t.Fatalf("at the cap: code %d err %v", code, err)
	}
	if n, _ := storedEncounters(t, dir); n != 1200 {
		t.Errorf("%d Encounters stored at the cap", n)
	}
}

// TestImportSoloReimportSameVisits: the same report imported twice to the
// store, through a site mapping that gives the Encounter no id, stores one
// Encounter per visit and no second version.
func TestImportSoloReimportSameVisits(t *testing.T) {
	_, cfg, dir := importEnv(t)
	p, _ := shipped.Path("solo/encounter-report")
	b, err := fs.ReadFile(shipped.FS, p)
	if err != nil {
		t.Fatal(err)
	}
	orig := string(b)
	const idField = "      - target: id\n        description: solo-visit-<appointmentId>; refused when it cannot be a FHIR id\n"
	i := strings.Index(orig, idField)
	if i < 0 {
		t.Fatal("the shipped mapping's Encounter id field changed; update this test")
	}
	j := strings.Index(orig[i:], "required: true\n")
	site := orig[:i] + orig[i+j+len("required: true\n"):]
	mp := filepath.Join(dir, "site.yaml")
	os.WriteFile(mp, []byte(site), 0o600)
	for range 2 {
		code, _, summary, err := runTestImport(t, importFlags{configFile: cfg, from: "2026-03-01", to: "2026-03-01", toStore: true, mappingSpec: mp})
		if code != 0 || err != nil {
			t.Fatalf("code %d err %v\n%s", code, err, summary)
		}
	}
	if n, versioned := storedEncounters(t, dir); n != 6 || versioned {
		t.Errorf("%d Encounters stored for 6 visits (a second version: %v)", n, versioned)
	}
}
