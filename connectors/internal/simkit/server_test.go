package simkit

import (
	"net/http"
	"testing"
)

// TestServer: Start serves the handler on a loopback port, Close stops it
// and closes Done; Close twice and Close before Start are harmless.
func TestServer(t *testing.T) {
	if err := NewServer("idle").Close(); err != nil {
		t.Fatalf("Close before Start: %v", err)
	}
	s := NewServer("test")
	url, err := s.Start("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	if err != nil || url == "" || s.URL() != url {
		t.Fatalf("Start = %q, %v (URL %q)", url, err, s.URL())
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("served %d", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed by Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after Close")
	}
	if _, err := NewServer("x").Start("256.0.0.1:0", nil); err == nil {
		t.Error("Start on a bad address succeeded")
	}
}
