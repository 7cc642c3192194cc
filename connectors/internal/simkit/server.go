package simkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is the lifecycle a simulator embeds: Start serves a handler on a
// loopback address, URL gives its base URL, Close stops it and closes
// Done, which releases requests a fault holds (Handler.Done). Make it
// with NewServer.
type Server struct {
	name   string
	srv    *http.Server
	url    string
	done   chan struct{}
	closed sync.Once
}

// NewServer returns a Server whose errors name the simulator name.
func NewServer(name string) *Server {
	return &Server{name: name, done: make(chan struct{})}
}

// Done is closed by Close.
func (s *Server) Done() <-chan struct{} { return s.done }

// Start serves h on addr ("127.0.0.1:0" for any free port) and returns
// the base URL.
func (s *Server) Start(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s: listening on %s: %w", s.name, addr, err)
	}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	return s.url, nil
}

// URL is the base URL Start returned ("" before Start).
func (s *Server) URL() string { return s.url }

// Close releases held requests and stops a started server.
func (s *Server) Close() error {
	s.closed.Do(func() { close(s.done) })
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return s.srv.Close()
	}
	return nil
}
