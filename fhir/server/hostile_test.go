package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHostileJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat(`}`, 1000)
	tests := []struct {
		name, path, body string
	}{
		{"duplicate key", "/fhir/Patient", `{"resourceType":"Patient","gender":"male","gender":"female"}`},
		{"case variant key", "/fhir/Patient", `{"resourceType":"Patient","gender":"male","Gender":"female"}`},
		{"depth 1000", "/fhir/Patient", `{"resourceType":"Patient","extension":` + deep + `}`},
		{"depth 1000 bundle", "/fhir", deep},
		{"invalid UTF-8", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\xfe\"}]}"},
		{"trailing garbage", "/fhir/Patient", patient + `garbage`},
		{"two documents", "/fhir", transactionN(1) + transactionN(1)},
		{"missing resourceType", "/fhir/Patient", `{"name":[{"family":"` + canaryName + `"}]}`},
		{"wrong resourceType", "/fhir/Patient", appointment("Patient/1")},
		{"bundle to type url", "/fhir/Patient", transactionN(1)},
		{"not a bundle", "/fhir", patient},
		{"collection bundle", "/fhir", bundle("collection", "", `{"resource":`+patient+`}`)},
		{"array", "/fhir", `[1,2]`},
		{"empty", "/fhir", ``},
		{"unknown element", "/fhir/Patient", `{"resourceType":"Patient","colour":"red"}`},
		{"bad date", "/fhir/Patient", `{"resourceType":"Patient","birthDate":"` + canaryName + `"}`},
		{"entry not object", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[1]}`},
		{"null resourceType", "/fhir/Patient", `{"resourceType":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			w := e.post(tt.path, tt.body)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			mustOutcome(t, w.Body.Bytes())
			if e.fb.commitCount() != 0 {
				t.Errorf("committed")
			}
		})
	}
}

// countingReader yields n bytes of filler and counts what was read.
type countingReader struct {
	left, read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	n = min(n, c.left)
	for i := range p[:n] {
		p[i] = ' '
	}
	c.left -= n
	c.read += n
	return int(n), nil
}

func TestOversizedBody(t *testing.T) {
	const size = 200 << 20
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("content-length known %v", known), func(t *testing.T) {
			e := newEnv(t, Options{})
			src := &countingReader{left: size}
			r := httptest.NewRequest("POST", "/fhir", src)
			r.Header.Set("Content-Type", "application/fhir+json")
			r.ContentLength = -1
			if known {
				r.ContentLength = size
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", w.Code)
			}
			mustOutcome(t, w.Body.Bytes())
			if src.read > DefaultBodyLimit+(1<<20) {
				t.Errorf("read %d bytes of %d", src.read, size)
			}
			if e.rejected(reasonTooLarge) != 1 {
				t.Errorf("rejection not counted")
			}
		})
	}
}

// gzipBomb returns gzip data that inflates to n spaces.
func gzipBomb(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = ' '
	}
	for ; n > 0; n -= int64(len(chunk)) {
		if _, err := zw.Write(chunk[:min(n, int64(len(chunk)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	e := newEnv(t, Options{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(patient))
	_ = zw.Close()
	if w := e.do("POST", "/fhir/Patient", &buf, "Content-Encoding: gzip"); w.Code != 201 {
		t.Errorf("gzip create: %d %s", w.Code, w.Body)
	}
	if w := e.do("POST", "/fhir/Patient", strings.NewReader(patient), "Content-Encoding: gzip"); w.Code != 400 {
		t.Errorf("not gzip: %d", w.Code)
	}
	if w := e.do("POST", "/fhir/Patient", strings.NewReader(patient), "Content-Encoding: br"); w.Code != 415 {
		t.Errorf("brotli: %d", w.Code)
	}
}

func TestGzipBomb(t *testing.T) {
	// 10 GB of spaces compresses to about 10 MB; the same stream cut at
	// 1 MB (about 1 GB inflated) is the 1 MB bomb of the brief: the server
	// must stop at the cap either way.
	bomb := gzipBomb(t, 1<<30)
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	for _, body := range [][]byte{bomb, bomb[:1<<20]} {
		e := newEnv(t, Options{})
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		w := e.do("POST", "/fhir", bytes.NewReader(body), "Content-Encoding: gzip")
		took := time.Since(start)
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		mustOutcome(t, w.Body.Bytes())
		if took > 5*time.Second {
			t.Errorf("took %v", took)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("allocated %d MB", alloc>>20)
		}
		if e.rejected(reasonInflated) != 1 {
			t.Errorf("rejection not counted")
		}
	}
}

func TestHugeBundle(t *testing.T) {
	const n = 50000
	es := make([]string, n)
	for i := range es {
		es[i] = entry("", "POST", "Patient", `{"resourceType":"Patient"}`)
	}
	body := bundle("transaction", "", es...)
	tests := []struct {
		name string
		opt  Options
		want int
	}{
		{"default limits", Options{}, http.StatusRequestEntityTooLarge},
		{"over BodyLimit", Options{BodyLimit: 1 << 20, MaxEntries: n}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opt)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			w := e.post("/fhir", body)
			runtime.ReadMemStats(&after)
			if w.Code != tt.want {
				t.Fatalf("status %d: %.300s", w.Code, w.Body)
			}
			mustOutcome(t, w.Body.Bytes())
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Errorf("allocated %d MB for a %d MB body", alloc>>20, len(body)>>20)
			}
			if e.fb.commitCount() != 0 {
				t.Errorf("committed")
			}
		})
	}
}
