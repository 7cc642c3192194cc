//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chaosReplica is one `fhirbridge serve` child process of the chaos
// cluster, on its own port and data folder; the database, the config
// file and the vendor simulator are shared.
type chaosReplica struct {
	name    string
	addr    string // host:port, the same across restarts
	dataDir string
	logPath string
	bin     string
	cfg     string
	env     []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the current process has ended
	starts int
}

// newChaosReplica prepares replica name; start runs it.
func newChaosReplica(t *testing.T, dir, name, bin, cfg string, env []string) *chaosReplica {
	t.Helper()
	r := &chaosReplica{name: name, addr: freeAddr(t), dataDir: filepath.Join(dir, name), logPath: filepath.Join(dir, name+".log"), bin: bin, cfg: cfg}
	r.env = append(append([]string{}, env...), "FHIRBRIDGE_SERVER__LISTEN="+r.addr, "FHIRBRIDGE_DATA_DIR="+r.dataDir)
	return r
}

// base is the replica's endpoint.
func (r *chaosReplica) base() string { return "http://" + r.addr }

// start starts a new process of the replica; its output is appended to
// the replica's log file.
func (r *chaosReplica) start() error {
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the log of %s: %w", r.name, err)
	}
	cmd := exec.Command(r.bin, "serve", "--config", r.cfg)
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", r.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.starts++
	r.mu.Unlock()
	return nil
}

// current returns the running process and its exit channel.
func (r *chaosReplica) current() (*exec.Cmd, chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd, r.exited
}

// alive reports whether the current process is still running.
func (r *chaosReplica) alive() bool {
	_, exited := r.current()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// waitReady waits until /readyz answers 200, the process ends, or
// timeout passes.
func (r *chaosReplica) waitReady(timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	_, exited := r.current()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(r.base() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready", r.name)
		case <-time.After(25 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s", r.name, timeout)
}

// kill sends SIGKILL and waits for the process to end.
func (r *chaosReplica) kill() error {
	cmd, exited := r.current()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("SIGKILL to %s: %w", r.name, err)
	}
	<-exited
	return nil
}

// stop ends the replica gracefully (SIGTERM), or with SIGKILL after
// grace; it reports whether the process ended by itself in time.
func (r *chaosReplica) stop(grace time.Duration) bool {
	cmd, exited := r.current()
	if cmd == nil {
		return true
	}
	select {
	case <-exited:
		return true
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(grace):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return false
	}
}

// logTail returns the last max bytes of the replica's log.
func (r *chaosReplica) logTail(max int) string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return fmt.Sprintf("(log of %s unreadable: %v)", r.name, err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// chaosAck is one acknowledged Bundle.
type chaosAck struct {
	n        int
	tries    int
	firstTry time.Time
	acked    time.Time
}

// chaosClient posts transaction Bundles round-robin over the replicas
// and retries each Bundle on a connection error, 429 or 5xx against the
// next replica until it is acknowledged (2xx), like an interface engine
// behind no load balancer.
type chaosClient struct {
	bases   []string
	hc      *http.Client
	bundle  func(n int) []byte
	giveUp  time.Duration // per Bundle
	backoff time.Duration

	mu      sync.Mutex
	acked   map[int]chaosAck
	order   []int    // Bundle numbers in ack order
	refused []string // "Bundle n: status": answers a retry cannot fix
	unacked []int    // given up after giveUp
	retries int      // posts that failed and were retried
}

func newChaosClient(bases []string, bundle func(int) []byte) *chaosClient {
	return &chaosClient{bases: bases, bundle: bundle, hc: &http.Client{Timeout: 15 * time.Second},
		giveUp: 90 * time.Second, backoff: 50 * time.Millisecond, acked: map[int]chaosAck{}}
}

// post posts Bundle n until it is acknowledged, refused, or given up.
func (c *chaosClient) post(n int) {
	body := c.bundle(n)
	first := time.Now()
	for try := 0; ; try++ {
		if time.Since(first) > c.giveUp {
			c.mu.Lock()
			c.unacked = append(c.unacked, n)
			c.mu.Unlock()
			return
		}
		base := c.bases[(n+try)%len(c.bases)]
		status, answer, err := c.once(base, body)
		switch {
		case err == nil && status/100 == 2 && bytes.Contains(answer, []byte("transaction-response")):
			c.mu.Lock()
			c.acked[n] = chaosAck{n: n, tries: try + 1, firstTry: first, acked: time.Now()}
			c.order = append(c.order, n)
			c.mu.Unlock()
			return
		case err == nil && status/100 == 4 && status != http.StatusTooManyRequests:
			c.mu.Lock()
			c.refused = append(c.refused, fmt.Sprintf("Bundle %d: %d", n, status))
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		c.retries++
		c.mu.Unlock()
		time.Sleep(c.backoff) // a back-off between posts, not a wait for a condition
	}
}

func (c *chaosClient) once(base string, body []byte) (int, []byte, error) {
	resp, err := c.hc.Post(base+"/fhir", "application/fhir+json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}

// snapshot returns the acknowledged Bundles and the ack order.
func (c *chaosClient) snapshot() (map[int]chaosAck, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	acked := make(map[int]chaosAck, len(c.acked))
	for k, v := range c.acked {
		acked[k] = v
	}
	return acked, append([]int(nil), c.order...)
}

// chaosBundle is transaction Bundle n: Patient chaos-pat-n and
// Appointment chaos-appt-n (booked, 15 minutes from start, inside the
// export window) referencing it by urn:uuid, both PUT with client ids,
// with the unique Bundle.identifier chaos-n. The values are made up.
func chaosBundle(n int, start time.Time) []byte {
	patURN := fmt.Sprintf("urn:uuid:c4a00000-0000-4000-8000-%012d", 2*n)
	apptURN := fmt.Sprintf("urn:uuid:c4a00000-0000-4000-8000-%012d", 2*n+1)
	return []byte(fmt.Sprintf(`{
  "resourceType": "Bundle",
  "type": "transaction",
  "identifier": {"system": "https://fhirbridge.test/chaos-bundle", "value": "chaos-%[1]d"},
  "entry": [
    {"fullUrl": %[2]q,
     "resource": {"resourceType": "Patient", "id": "chaos-pat-%[1]d",
       "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "system": "https://fhirbridge.test/mrn", "value": "MRN-CHAOS-%[1]d"}],
       "name": [{"use": "official", "family": "Chaos%[1]d", "given": ["Test"]}],
       "gender": "other", "birthDate": "1970-01-01"},
     "request": {"method": "PUT", "url": "Patient/chaos-pat-%[1]d"}},
    {"fullUrl": %[3]q,
     "resource": {"resourceType": "Appointment", "id": "chaos-appt-%[1]d", "status": "booked",
       "start": %[4]q, "end": %[5]q,
       "participant": [{"actor": {"reference": %[2]q}, "status": "accepted"}]},
     "request": {"method": "PUT", "url": "Appointment/chaos-appt-%[1]d"}}
  ]
}`, n, patURN, apptURN, start.UTC().Format(time.RFC3339), start.Add(15*time.Minute).UTC().Format(time.RFC3339)))
}

// chaosCancelFile is the content of a cancellation file for Appointment
// chaos-appt-n (no phone or email: those columns are not mapped back).
func chaosCancelFile(n int) []byte {
	return []byte("APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS\r\n" +
		fmt.Sprintf("chaos-appt-%d;;;;res-chaos;CANCELLED by ADMIN\r\n", n))
}

// dropFile writes name into dir as a sender would: a temporary name the
// poller's pattern does not match, then a rename.
func dropFile(dir, name string, content []byte) error {
	tmp := filepath.Join(dir, "."+name+".part")
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("dropping %s: %w", name, err)
	}
	return nil
}

// chaosRecovery is one kill: the delivery jobs in flight right after it
// and when all of them were delivered.
type chaosRecovery struct {
	replica string
	at      time.Time
	jobs    []int64
	done    time.Duration // 0 until recovered
}

// waitUntil polls cond every step until it holds or timeout passes; it
// reports whether cond held.
func waitUntil(timeout, step time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(step)
	}
}

// errNotReady wraps a start-up failure with the replica's log.
func errNotReady(r *chaosReplica, err error) error {
	return errors.Join(err, fmt.Errorf("log of %s (tail):\n%s", r.name, r.logTail(6000)))
}

// chaosRand is a rand.Rand safe for the simulator's handler goroutines.
type chaosRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (c *chaosRand) duration(max time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.r.Int63n(int64(max)))
}
