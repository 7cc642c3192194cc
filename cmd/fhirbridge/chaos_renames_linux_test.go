//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// renameLog is the write log of a local remote folder: it counts, per
// file name, the files renamed into the folder (inotify IN_MOVED_TO). The
// local remote uploads by writing a temporary file and renaming it over
// the final name, so each completed upload is one rename, including an
// upload that overwrote the same name and one the uploader never
// recorded in the ledger because it was killed right after.
type renameLog struct {
	f    *os.File
	done chan struct{}

	mu     sync.Mutex
	counts map[string]int
	err    error // a read error or a queue overflow: the counts are incomplete
}

// watchRenames starts counting the renames into dir (not its
// subfolders). Close stops it.
func watchRenames(dir string) (*renameLog, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify on %s: %w", dir, err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("inotify watch on %s: %w", dir, err)
	}
	// a non-blocking descriptor goes to Go's poller, so Close ends a Read
	l := &renameLog{f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{}), counts: map[string]int{}}
	go l.read()
	return l, nil
}

func (l *renameLog) read() {
	defer close(l.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := l.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.EOF) {
				l.fail(fmt.Errorf("reading inotify events: %w", err))
			}
			return
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameStart := off + syscall.SizeofInotifyEvent
			nameEnd := nameStart + int(ev.Len)
			if nameEnd > n {
				l.fail(errors.New("truncated inotify event"))
				return
			}
			name := string(bytes.TrimRight(buf[nameStart:nameEnd], "\x00"))
			l.mu.Lock()
			switch {
			case ev.Mask&syscall.IN_Q_OVERFLOW != 0:
				l.err = errors.New("inotify queue overflowed: renames were not counted")
			case ev.Mask&syscall.IN_MOVED_TO != 0:
				l.counts[name]++
			}
			l.mu.Unlock()
			off = nameEnd
		}
	}
}

func (l *renameLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// Counts returns the renames per file name so far, and an error when
// some may be missing.
func (l *renameLog) Counts() (map[string]int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.counts))
	for k, v := range l.counts {
		out[k] = v
	}
	return out, l.err
}

// Close stops the watch.
func (l *renameLog) Close() error {
	err := l.f.Close()
	<-l.done
	return err
}
