package ttsim

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// listener serves one handler on a loopback (or given) address; the
// LoginServer and the EHR embed it for Start, URL and Close.
type listener struct {
	mu  sync.Mutex
	srv *http.Server
	url string
}

// start serves h on addr ("127.0.0.1:0" for any free port) and returns
// the base URL.
func (l *listener) start(addr string, h http.Handler) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil {
		return "", errors.New("already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	l.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	l.url = "http://" + ln.Addr().String()
	go func() { _ = l.srv.Serve(ln) }()
	return l.url, nil
}

// URL is the base URL of a started server, "" before Start.
func (l *listener) URL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.url
}

// Close stops a started server; it is a no-op otherwise.
func (l *listener) Close() error {
	l.mu.Lock()
	srv := l.srv
	l.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return srv.Close()
	}
	return nil
}

// same compares two secrets in constant time.
func same(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
