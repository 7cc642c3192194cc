package mllp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMLLPSend sends a file of three messages with python-hl7's
// mllp_send, an MLLP client of another code base, and expects three ACKs.
// It is skipped when python3's hl7 package is missing, unless
// FHIRBRIDGE_REQUIRE_HL7=1.
func TestMLLPSend(t *testing.T) {
	send, err := exec.LookPath("mllp_send")
	if err == nil {
		// the script's own interpreter must have the hl7 package (the
		// python3 first on PATH may be another one)
		err = exec.Command(send, "--help").Run()
	}
	if err != nil {
		if os.Getenv("FHIRBRIDGE_REQUIRE_HL7") == "1" {
			t.Fatalf("FHIRBRIDGE_REQUIRE_HL7=1 but python3 hl7 / mllp_send is missing: %v", err)
		}
		t.Skip("python3 hl7 package (mllp_send) not installed")
	}
	addr, _, _ := testServer(t, &Server{})
	_, port, _ := net.SplitHostPort(addr)
	var file bytes.Buffer
	for i := range 3 {
		if err := WriteFrame(&file, hl7msg(fmt.Sprint("PY", i))); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "three.hl7")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, send, "--file", path, "--port", port, "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("mllp_send: %v\n%s", err, out)
	}
	for i := range 3 {
		if !strings.Contains(string(out), fmt.Sprint("MSA|AA|PY", i)) {
			t.Errorf("no ACK for message %d in mllp_send output:\n%q", i, out)
		}
	}
	if n := strings.Count(string(out), "MSA|"); n != 3 {
		t.Errorf("%d ACKs, want 3", n)
	}
}
