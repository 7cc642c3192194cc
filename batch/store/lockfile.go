package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked is matched by LockServing's error when another process serves
// the same SQLite store.
var ErrLocked = errors.New("the SQLite store is in use by another serving process")

// LockServing makes this process the only one serving an SQLite store: it
// takes an exclusive lock (flock) on the file "<database>.serve.lock",
// held until Close or the process ends (the kernel drops it on kill -9),
// and writes this process id into it for the message another process
// gets. A second process calling it gets ErrLocked, so two serves on one
// data folder — a rolling restart started too early — cannot both work
// the queue. Commands that only read or that share the queue on purpose
// do not call it. On PostgreSQL it does nothing: replicas share the
// store by design.
func (s *Store) LockServing() error {
	if s.dialect != sqliteDialect || s.lock != nil {
		return nil
	}
	name := s.path + ".serve.lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening the serve lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(name); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (process %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w%s: %s is locked; SQLite allows one serving process per data folder — stop the other serve first (or use PostgreSQL to run several replicas)", ErrLocked, holder, name)
		}
		return fmt.Errorf("locking %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	s.lock = f
	return nil
}

// unlockServing drops the serve lock if this store holds it. The lock
// file stays: removing it would race with a process about to lock it.
func (s *Store) unlockServing() {
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		s.lock.Close()
		s.lock = nil
	}
}
