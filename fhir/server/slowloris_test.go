package server

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowloris (RELIABILITY 8): 200 connections dribbling their headers
// one byte a second do not keep legitimate requests out, and the server
// closes them once ReadHeaderTimeout has passed.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~7 s")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(ln.Addr().String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()
	var closed atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			head := "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Slow: " // never finished
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Write([]byte{head[i%len(head)]}); err != nil {
					closed.Add(1)
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	cl := &http.Client{Timeout: 2 * time.Second}
	for i := 0; i < 20; i++ {
		resp, err := cl.Get("http://" + addr + "/")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a legitimate request failed under slowloris: %v", err)
		}
		resp.Body.Close()
	}
	time.Sleep(7 * time.Second) // ReadHeaderTimeout is 5 s
	close(stop)
	wg.Wait()
	if n := closed.Load(); n < 190 {
		t.Errorf("only %d of 200 slow connections were closed by the server after its header timeout", n)
	}
}
