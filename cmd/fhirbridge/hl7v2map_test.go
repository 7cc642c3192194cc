package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cmdV2Mapping = `name: t/adt
version: 1
source: ADT
direction: reverse
resource: Patient
input: hl7v2
when: "v2('MSH-9.2') != 'A99'"
fields:
  - target: identifier[0].value
    from: "v2('PID-3[1].1')"
    required: true
  - target: birthDate
    from: "v2('PID-7')"
    transform: [v2datetime]
`

const cmdV2Cases = `cases:
  - name: A04
    input: |
      MSH|^~\&|A|B|C|D|20260102090000||ADT^A04|1|P|2.5.1
      PID|1||ID1||TESTPATIENT||19900101
    expect:
      - {resourceType: Patient, identifier: [{value: ID1}], birthDate: "1990-01-01"}
`

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMapHL7v2: fhirbridge map streams a batch file of HL7 v2 messages
// through an input: hl7v2 mapping, writing NDJSON and reporting each
// failed message by number and field, without values.
func TestMapHL7v2(t *testing.T) {
	dir := t.TempDir()
	msg := func(n, id, birth string) string {
		return "MSH|^~\\&|A|B|C|D|20260102090000||ADT^A04|" + n + "|P|2.5.1\rPID|1||" + id + "||TESTPATIENT||" + birth + "\r"
	}
	batch := "FHS|^~\\&|A\rBHS|^~\\&|A\r" + msg("1", "ID1", "19900101") + msg("2", "ID2", "19901399") +
		strings.Replace(msg("3", "ID3", ""), "A04", "A99", 1) + msg("4", "ID4", "199001") + "BTS|4\rFTS|1\r"
	writeFiles(t, dir, map[string]string{"adt.yaml": cmdV2Mapping, "messages.hl7": batch})
	out, stderr, code := run(t, "", "map", "--mapping", filepath.Join(dir, "adt.yaml"), "--in", filepath.Join(dir, "messages.hl7"))
	if code != 1 {
		t.Errorf("exit %d, want 1 (a message failed); stderr:\n%s", code, stderr)
	}
	wantOut := `{"resourceType":"Patient","identifier":[{"value":"ID1"}],"birthDate":"1990-01-01"}` + "\n" +
		`{"resourceType":"Patient","identifier":[{"value":"ID4"}],"birthDate":"1990-01"}` + "\n"
	if out != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, wantOut)
	}
	wantErr := `error: message 2 (PID-7): mapping t/adt: field birthDate (from "v2('PID-7')"): transform v2datetime: value is not an HL7 v2 date/time (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ])` + "\n" +
		"t/adt: 4 read, 2 written, 1 skipped, 1 failed\n"
	if stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, wantErr)
	}
	if strings.Contains(stderr, "19901399") || strings.Contains(stderr, "TESTPATIENT") {
		t.Error("stderr shows a value of the message")
	}

	// --format json, from standard input
	out, stderr, code = run(t, msg("1", "ID1", ""), "map", "--mapping", filepath.Join(dir, "adt.yaml"), "--in", "-", "--format", "json", "--quiet")
	if code != 0 || !strings.HasPrefix(out, "[") || !strings.Contains(out, `"value":"ID1"`) {
		t.Errorf("json: exit %d, out %q, stderr %q", code, out, stderr)
	}
}

// TestTestCmdHL7v2: fhirbridge test runs the cases of an input: hl7v2
// mapping, whose input is the ER7 text of a message.
func TestTestCmdHL7v2(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"adt.yaml": cmdV2Mapping, "adt.cases.yaml": cmdV2Cases})
	out, _, code := run(t, "", "test", dir)
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	writeFiles(t, dir, map[string]string{"adt.cases.yaml": strings.Replace(cmdV2Cases, `"1990-01-01"`, `"1990-01-02"`, 1)})
	out, _, code = run(t, "", "test", dir)
	if code != 1 || !strings.Contains(out, "FAIL adt.cases.yaml: A04") || !strings.Contains(out, "birthDate") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestMapHL7v2BadEnvelope: a wrong batch count ends the run with status 2
// and the --out file is not written.
func TestMapHL7v2BadEnvelope(t *testing.T) {
	dir := t.TempDir()
	msg := "MSH|^~\\&|A|B|C|D|20260102090000||ADT^A04|1|P|2.5.1\rPID|1||ID1\r"
	writeFiles(t, dir, map[string]string{"adt.yaml": cmdV2Mapping, "bad.hl7": "BHS|^~\\&|A\r" + msg + "BTS|2\r"})
	outFile := filepath.Join(dir, "out.ndjson")
	_, stderr, code := run(t, "", "map", "--mapping", filepath.Join(dir, "adt.yaml"), "--in", filepath.Join(dir, "bad.hl7"), "--out", outFile, "--quiet")
	if code != 2 || !strings.Contains(stderr, "BTS") {
		t.Errorf("exit %d, stderr %q; want 2 and the BTS named", code, stderr)
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Errorf("output file written: %v", err)
	}
}
