package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// limits are the spec's nvarchar/nchar limits of the columns of the three
// column sets (A.1.1, A.2.1); columns not listed are checked against 50.
var limits = map[string]int{
	"APP_DATE": 10, "APP_START_TIME": 5, "APP_END_TIME": 5, "PRIVACY": 1, "COMMUNICATION_PREFERENCES": 3,
	"USER_DATE_OF_BIRTH": 10, "USER_GENDER": 10, "USER_ZIP_CODE": 10, "USER_LANGUAGE": 10, "NOTES": 500,
	"WEB_ENABLED": 1, "AVAILABILITIES_STEP": 3,
	"R_WORKING_DAY": 1, "R_START_TIME": 5, "R_END_TIME": 5, "R_START_DAY": 10, "R_END_DAY": 10,
}

// TestGolden exports the fixture store with the three column sets and
// compares file and manifest with testdata/golden (go test -update
// rewrites them). Every cell must fit the spec's limit and no text cell
// may start with a formula character.
func TestGolden(t *testing.T) {
	cases := []struct {
		name, mapping string
		params        map[string]string
		pattern       string
		wantRefused   []string
		// known lists limit violations of a mapping this package does
		// not own, as "COLUMN row N"
		known []string
	}{
		{"export", "tuotempo/export", map[string]string{"timezone": "Europe/Madrid"}, "", []string{"appt-08-no-practitioner"}, nil},
		{"reservations", "tuotempo/reservations", map[string]string{"timezone": "Europe/Madrid", "notes_from": "comment"},
			"reservations_{time}.csv", []string{"appt-08-no-practitioner"}, nil},
		{"resources", "tuotempo/resources", map[string]string{"location_lid": "SITE", "location_name": "Hospital Demo"},
			"resources_{date}.csv", nil, nil},
	}
	st := openStore(t)
	loadFixture(t, st)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustSpec(t, "tuotempo-"+tc.name, tc.mapping, tc.params)
			spec.NamePattern = tc.pattern
			spec.Location = madrid
			clock := &fakeClock{now: exportAt.Add(2 * time.Minute)}
			res, err := Run(context.Background(), st, nil, spec, exportAt, RunOptions{DryRun: true, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			var refused []string
			for _, r := range res.Refused {
				refused = append(refused, r.ID)
			}
			if strings.Join(refused, ",") != strings.Join(tc.wantRefused, ",") {
				t.Errorf("refused %v, want %v", refused, tc.wantRefused)
			}
			golden(t, tc.name+".csv", res.CSV)
			golden(t, tc.name+".manifest.json", res.ManifestJSON)
			if got := checkCells(t, res.CSV); strings.Join(got, ",") != strings.Join(tc.known, ",") {
				t.Errorf("cells over the spec's limits: %v, want %v", got, tc.known)
			}
		})
	}
}

// golden compares got with testdata/golden/name, or rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// checkCells enforces formula escaping on a CSV and returns the cells
// over the spec's limits.
func checkCells(t *testing.T, data []byte) (over []string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("reading CSV: %v", err)
	}
	header := recs[0]
	for i, rec := range recs[1:] {
		for c, cell := range rec {
			limit, ok := limits[header[c]]
			if !ok {
				limit = 50
			}
			if n := utf8.RuneCountInString(cell); n > limit {
				t.Logf("row %d %s: %d characters, limit %d", i+1, header[c], n, limit)
				over = append(over, fmt.Sprintf("%s row %d", header[c], i+1))
			}
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !isNumber(cell) {
				t.Errorf("row %d %s: starts with a formula character", i+1, header[c])
			}
		}
	}
	return over
}

func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789.,") == ""
}
