package xfer

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func pipe(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn)
	go func() { c, _ := ln.Accept(); done <- c }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-done
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestGuardTimesOutOnlyDuringOperations(t *testing.T) {
	c, _ := pipe(t)
	g := NewGuard(50 * time.Millisecond)
	gc := g.Wrap(c)
	end := g.Begin(context.Background())
	start := time.Now()
	_, err := gc.Read(make([]byte, 1))
	end()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 5*time.Second {
		t.Fatalf("idle read during an operation: %v, want a timeout", err)
	}
	if !IsNetwork(err) {
		t.Errorf("IsNetwork(%v) = false", err)
	}
}

func TestGuardIdleBetweenOperations(t *testing.T) {
	c, s := pipe(t)
	g := NewGuard(30 * time.Millisecond)
	gc := g.Wrap(c)
	g.Begin(context.Background())()
	go func() { time.Sleep(100 * time.Millisecond); s.Write([]byte("x")) }()
	if _, err := gc.Read(make([]byte, 1)); err != nil {
		t.Fatalf("read outside an operation failed: %v", err)
	}
}

func TestGuardCancel(t *testing.T) {
	c, _ := pipe(t)
	g := NewGuard(time.Minute)
	gc := g.Wrap(c)
	ctx, cancel := context.WithCancel(context.Background())
	end := g.Begin(ctx)
	defer end()
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	if _, err := gc.Read(make([]byte, 1)); err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("read after cancel: %v, want an immediate failure", err)
	}
}
