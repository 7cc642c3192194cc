//go:build unix

package hl7in

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// Environment of the crash test's child process.
const (
	crashChildDB   = "HL7IN_CRASH_CHILD_DB"   // the store the child serves
	crashChildKill = "HL7IN_CRASH_CHILD_KILL" // "1": SIGKILL itself right after a commit
)

// killAfterCommit SIGKILLs the process as soon as a commit has returned,
// before the ACK is built or written: the worst moment for a sender.
type killAfterCommit struct{ server.Backend }

func (k killAfterCommit) Commit(ctx context.Context, req *server.Request) (*server.Result, error) {
	res, err := k.Backend.Commit(ctx, req)
	if err == nil {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal arrives
	}
	return res, err
}

// crashChild runs the child: a Handler over the SQLite store named by
// crashChildDB behind an MLLP listener whose address it prints.
func crashChild() {
	st, err := store.Open(context.Background(), "sqlite://"+os.Getenv(crashChildDB))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	var b server.Backend = &ingest.Backend{Store: st}
	if os.Getenv(crashChildKill) == "1" {
		b = killAfterCommit{b}
	}
	h := &Handler{Translators: map[string]Translator{"ADT": TranslatorFunc(testTranslator)},
		Backend: b, Store: st, Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	fmt.Println("ADDR", l.Addr().String())
	_ = (&mllp.Server{Handler: h, Logger: slog.New(slog.DiscardHandler)}).Serve(l)
	os.Exit(0)
}

// TestCrashBetweenCommitAndAck kills a real process with SIGKILL after
// the store committed a message and before the ACK was written; the
// sender, having no ACK, sends the message again to the restarted
// process, gets AA, and the store holds it once (a new Patient: one
// version; an A40 merge: applied once).
func TestCrashBetweenCommitAndAck(t *testing.T) {
	if os.Getenv(crashChildDB) != "" {
		crashChild()
		return
	}
	db := filepath.Join(t.TempDir(), "crash.db")
	start := func(kill bool) (*exec.Cmd, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBetweenCommitAndAck$")
		cmd.Env = append(os.Environ(), crashChildDB+"="+db)
		if kill {
			cmd.Env = append(cmd.Env, crashChildKill+"=1")
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
		if err != nil || !ok {
			cmd.Process.Kill()
			t.Fatalf("child did not start: %q %v", line, err)
		}
		return cmd, addr
	}
	// send sends msg and returns MSA-1 of its ACK, or "" when the
	// connection ended without one.
	send := func(addr string, msg []byte) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if err := mllp.WriteFrame(c, msg); err != nil {
			t.Fatal(err)
		}
		raw, err := mllp.NewReader(bufio.NewReader(c), 1<<20).ReadFrame()
		if err != nil {
			return ""
		}
		ack, err := hl7v2.Parse(raw)
		if err != nil {
			t.Fatalf("ACK does not parse: %v", err)
		}
		code, _ := ack.Get("MSA-1")
		return code
	}
	wantKilled := func(cmd *exec.Cmd) {
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child did not die of SIGKILL: %v", err)
		}
	}

	first := adt("A04", "K1", canaryMRN, canaryDOB)
	merge := adt("A40", "K2", "MRN-SURVIVOR", "", "MRG|"+canaryMRN+"^^^HOSP^MR")
	// Between the crash and the retry of the first message, a later
	// update arrives (on another connection): the retry must not undo it.
	later := adt("A08", "K3", canaryMRN, "19700101")
	for i, msg := range [][]byte{first, merge} {
		cmd, addr := start(true)
		if code := send(addr, msg); code != "" {
			t.Fatalf("an ACK (%s) came from a process killed before writing it", code)
		}
		wantKilled(cmd)
		cmd, addr = start(false)
		if i == 0 {
			if code := send(addr, later); code != "AA" {
				t.Fatalf("the later update was answered %q, want AA", code)
			}
		}
		if code := send(addr, msg); code != "AA" {
			t.Fatalf("the retry was answered %q, want AA", code)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}

	st, err := store.Open(context.Background(), "sqlite://"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := &rig{t: t, st: st}
	if p, v := r.patient(canaryMRN); p == nil || v != 3 || p.Get("active").True() || p.GetString("birthDate") != "1970-01-01" {
		t.Errorf("merged Patient at version %d, want 3 (created once, updated once, merged once; the retry undid nothing)", v)
	}
	if _, v := r.patient("MRN-SURVIVOR"); v != 1 {
		t.Errorf("surviving Patient at version %d, want 1", v)
	}
	if n := r.count(); n != 2 {
		t.Errorf("%d Patients stored, want 2", n)
	}
}
