//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// TestHL7v2CrashAfterCommit runs the real binary's serve with an MLLP
// listener, sends an ADT message and SIGKILLs serve as soon as it has
// committed the message (its log line comes after the commit, before the
// ACK is written); the sender counts the message unacknowledged. After a
// restart a later update of the same patient arrives, then the sender's
// retry: both are answered AA and the retry undoes nothing — the Patient
// has exactly two versions, the later birth date.
func TestHL7v2CrashAfterCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	mapping := filepath.Join(repoRoot(t), "batch", "hl7in", "testdata", "adt-test.yaml")
	mllpAddr := freeAddr(t)
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\nserver: {listen: \""+freeAddr(t)+"\"}\n"+
		"hl7v2:\n  listen: \""+mllpAddr+"\"\n  mappings: {ADT: "+mapping+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FHIRBRIDGE_") {
			env = append(env, kv)
		}
	}
	// start runs serve; lines receives its log lines.
	start := func() (*exec.Cmd, <-chan string) {
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Env = env
		out, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1000)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if c, err := net.Dial("tcp", mllpAddr); err == nil {
				c.Close()
				return cmd, lines
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("serve's MLLP listener did not come up")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	msg := func(control, dob string) []byte {
		return []byte("MSH|^~\\&|EPIC|HOSP|FB|TC|20260101120000||ADT^A04^ADT_A01|" + control + "|P|2.5.1\r" +
			"PID|1||MRN-CRASH^^^HOSP^MR||DOE^JANE||" + dob + "|F\r")
	}
	// send sends m and returns MSA-1 of its ACK.
	send := func(m []byte) string {
		c, err := net.Dial("tcp", mllpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if err := mllp.WriteFrame(c, m); err != nil {
			t.Fatal(err)
		}
		raw, err := mllp.NewReader(bufio.NewReader(c), 1<<20).ReadFrame()
		if err != nil {
			t.Fatalf("no ACK: %v", err)
		}
		ack, err := hl7v2.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := ack.Get("MSA-1")
		return code
	}

	first := msg("CRASH-1", "19610423")
	cmd, lines := start()
	c, err := net.Dial("tcp", mllpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := mllp.WriteFrame(c, first); err != nil {
		t.Fatal(err)
	}
	committed := false
	timeout := time.After(30 * time.Second)
	for !committed {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve ended before handling the message")
			}
			committed = strings.Contains(l, `msg="hl7v2 message"`) && strings.Contains(l, "ack=AA")
		case <-timeout:
			t.Fatal("serve did not log the committed message")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Close() // the sender never saw an ACK
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("serve did not die of SIGKILL: %v", err)
	}

	cmd, lines = start()
	go func() {
		for range lines {
		}
	}()
	if code := send(msg("CRASH-2", "19700101")); code != "AA" {
		t.Fatalf("later update: %q, want AA", code)
	}
	if code := send(first); code != "AA" {
		t.Fatalf("retry: %q, want AA", code)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}

	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "data", "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var bodies [][]byte
	var versions []int
	if err := st.Current(context.Background(), "Patient", func(_ string, v int, b []byte) error {
		bodies, versions = append(bodies, b), append(versions, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 1 || versions[0] != 2 {
		t.Fatalf("%d Patients, versions %v; want one Patient at version 2", len(bodies), versions)
	}
	p, err := fhir.Decode(bodies[0], fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.GetString("birthDate"); got != "1970-01-01" {
		t.Errorf("birthDate %s: the retry undid the later update", got)
	}
}
