package sftpremote

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// sshdPath is the OpenSSH server the integration test runs (Debian and
// Ubuntu package openssh-server).
const sshdPath = "/usr/sbin/sshd"

// openSSH is a private sshd on 127.0.0.1, running as the current user.
type openSSH struct {
	t       *testing.T
	dir     string
	port    int
	hostKey ssh.Signer
	userKey string // private key file of the current user
	cmd     *exec.Cmd
	log     *lockedBuffer
}

// startOpenSSH starts sshd, skipping the test when it is not installed
// unless FHIRBRIDGE_REQUIRE_OPENSSH=1 (CI), where a missing sshd fails.
func startOpenSSH(t *testing.T) *openSSH {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		if os.Getenv("FHIRBRIDGE_REQUIRE_OPENSSH") == "1" {
			t.Fatalf("FHIRBRIDGE_REQUIRE_OPENSSH=1 but %s is missing: install openssh-server", sshdPath)
		}
		t.Skipf("%s not installed (apt-get install openssh-server); set FHIRBRIDGE_REQUIRE_OPENSSH=1 to fail instead", sshdPath)
	}
	if os.Geteuid() == 0 {
		// Privilege separation needs its empty directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &openSSH{t: t, dir: t.TempDir(), port: freePort(t)}
	keyFile, pub := writeUserKey(t, "")
	s.userKey = keyFile
	authorized := filepath.Join(s.dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start(newSigner(t))
	t.Cleanup(s.stop)
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs sshd with hostKey and waits until it accepts connections.
func (s *openSSH) start(hostKey ssh.Signer) {
	t := s.t
	t.Helper()
	s.hostKey = hostKey
	block, err := ssh.MarshalPrivateKey(hostKeyPrivate(t, hostKey), "")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(s.dir, "host_key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
LogLevel VERBOSE
`, s.port, keyPath, filepath.Join(s.dir, "authorized_keys"))
	cfgPath := filepath.Join(s.dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.log = &lockedBuffer{}
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", s.addr())
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start: %v\n%s", err, s.log)
		}
	}
}

// stop ends sshd and every session it forked.
func (s *openSSH) stop() {
	if s.cmd == nil {
		return
	}
	s.killSessions()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("sshd log:\n%s", s.log)
	}
}

// killSessions kills the processes sshd forked for connections (the
// server side of every session), leaving the listener running.
func (s *openSSH) killSessions() {
	for _, pid := range descendants(s.cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ")".
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			parents[ppid] = append(parents[ppid], child)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range parents[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func (s *openSSH) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// config logs in as the current user by key, pinned by known_hosts.
func (s *openSSH) config(dir string) connectors.RemoteConfig {
	u, err := user.Current()
	if err != nil {
		s.t.Fatal(err)
	}
	return connectors.RemoteConfig{
		Kind: Kind, Host: "127.0.0.1", Port: s.port, User: u.Username,
		KeyFile:    s.userKey,
		KnownHosts: writeKnownHosts(s.t, s.addr(), s.hostKey.PublicKey()),
		Dir:        dir,
		Timeout:    10 * time.Second,
	}
}

func TestOpenSSHAtomicUpload(t *testing.T) {
	s := startOpenSSH(t)
	dir := t.TempDir()
	atomicUpload(t, s.config(dir), dir)
}

func TestOpenSSHCutUploadThenRetry(t *testing.T) {
	s := startOpenSSH(t)
	dir := t.TempDir()
	cutUpload(t, s.config(dir), dir, s.killSessions)
}

func TestOpenSSHConformance(t *testing.T) {
	s := startOpenSSH(t)
	dir := t.TempDir()
	r := mustOpen(t, s.config(dir))
	if _, err := r.Put(context.Background(), "x.csv", strings.NewReader("a;b\n")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := r.Move(context.Background(), "x.csv", "processed/x.csv"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "processed", "x.csv")); string(got) != "a;b\n" {
		t.Errorf("moved file holds %q", got)
	}
	// TestOpenSSHChangedHostKey relies on this line to see logins.
	if !strings.Contains(s.log.String(), "Accepted publickey") {
		t.Errorf("sshd logged no accepted login:\n%s", s.log)
	}
}

func TestOpenSSHChangedHostKey(t *testing.T) {
	s := startOpenSSH(t)
	dir := t.TempDir()
	byKnownHosts := s.config(dir)
	byFingerprint := s.config(dir)
	byFingerprint.KnownHosts = ""
	byFingerprint.HostKeyFingerprint = ssh.FingerprintSHA256(s.hostKey.PublicKey())
	mustOpen(t, byFingerprint).Close() // the pin works while the key is the same

	s.stop()
	s.start(newSigner(t)) // same port, new host key
	t.Run("known_hosts", func(t *testing.T) { refusedHostKey(t, byKnownHosts, dir) })
	t.Run("fingerprint", func(t *testing.T) { refusedHostKey(t, byFingerprint, dir) })
	if strings.Contains(s.log.String(), "Accepted publickey") || strings.Contains(s.log.String(), "Failed publickey") {
		t.Errorf("a credential was offered to the server with the new key:\n%s", s.log)
	}
}

// hostKeyPrivate returns the private key behind a signer made by
// newSigner.
func hostKeyPrivate(t *testing.T, s ssh.Signer) any {
	t.Helper()
	priv, ok := signerKeys.Load(s)
	if !ok {
		t.Fatal("host key not made by newSigner")
	}
	return priv
}

var signerKeys sync.Map // ssh.Signer -> ed25519.PrivateKey

// lockedBuffer collects sshd's log from its process.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
