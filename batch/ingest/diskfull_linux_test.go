package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"net/http"
	"net/http/httptest"
)

// TestDiskFullAnswers503 (RELIABILITY 15): with the store's disk full, a
// post is answered 503 with Retry-After, never 200, and stores nothing;
// once space frees, the same post is accepted.
func TestDiskFullAnswers503(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", 3<<20)); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): needs root", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(server.New(&Backend{Store: st}, server.Options{}))
	defer srv.Close()
	// fill the disk with a ballast file
	ballast := filepath.Join(dir, "ballast")
	f, _ := os.Create(ballast)
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	patient := `{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"D-1"}],"name":[{"family":"` + strings.Repeat("x", 40<<10) + `"}]}`
	post := func() *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+"/fhir/Patient", strings.NewReader(patient))
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("disk full: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM resources`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a request answered 503 stored %d resources (%v)", n, err)
	}
	os.Remove(ballast)
	if resp := post(); resp.StatusCode != 201 {
		t.Errorf("after space freed: status %d, want 201", resp.StatusCode)
	}
}
