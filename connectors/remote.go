package connectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Remote is a folder on a file server that exports are written to and
// inbound files (cancellations, reports) are read from: an SFTP or FTP
// server, or a local folder for demos and tests. Names are relative to the
// remote's base folder, with "/" between parts ("processed/x.csv").
//
// Every error is classified (see Classify): network faults Transient, a
// refused login or host key NeedsReconnect, a missing file Permanent with
// errors.Is(err, ErrNotExist). Errors name files and hosts, never file
// contents. A Remote is not safe for concurrent use; open one per job.
type Remote interface {
	// Put writes r to name so that a reader of the folder never sees a
	// partial file: it uploads to a temporary name in the same folder,
	// checks the uploaded size, then renames over name (POSIX rename on
	// SFTP), creating name's folder when missing. It returns the bytes
	// written. On error no file called name
	// is left that was not there before (a leftover temporary may be).
	Put(ctx context.Context, name string, r io.Reader) (int64, error)
	// List returns the regular files directly in dir ("" is the base),
	// sorted by name.
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Stat returns one file's size and modification time.
	Stat(ctx context.Context, name string) (FileInfo, error)
	// Open reads a file; the caller closes it.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Move renames from to to, creating to's folder when missing and
	// replacing an existing to.
	Move(ctx context.Context, from, to string) error
	// Remove deletes a file; a missing file is not an error.
	Remove(ctx context.Context, name string) error
	// Close ends the session.
	Close() error
}

// FileInfo describes one file of a Remote.
type FileInfo struct {
	Name    string // relative to the base folder
	Size    int64
	ModTime time.Time
}

// ErrNotExist is matched by errors for files a Remote does not have.
var ErrNotExist = errors.New("file does not exist")

// ErrHostKey is matched by the error of a Remote whose server presented a
// host key other than the pinned one: a distinct alert, never retried as a
// network fault.
var ErrHostKey = errors.New("host key mismatch")

// RemoteConfig is what a site configures for a Remote. Kind selects the
// registered opener ("sftp", "ftp", "local").
type RemoteConfig struct {
	// Kind is "sftp", "ftp" or "local".
	Kind string
	// Host and Port of the server (Port 0: 22 for SFTP, 21 for FTP).
	Host string
	Port int
	// User and Password log in; Password may be empty with KeyFile.
	User     string
	Password Secret
	// KeyFile is an SSH private key (PEM/OpenSSH) for SFTP; KeyPassphrase
	// unlocks it when encrypted.
	KeyFile       string
	KeyPassphrase Secret
	// KnownHosts is an OpenSSH known_hosts file holding the server's host
	// key; HostKeyFingerprint ("SHA256:..." as ssh-keygen -lf prints it)
	// pins it instead. SFTP needs one of the two: no setting accepts any
	// host key.
	KnownHosts         string
	HostKeyFingerprint string
	// TLS asks FTP for explicit TLS (AUTH TLS); CAFile names the CA that
	// signed the server's certificate when not a system one.
	TLS    bool
	CAFile string
	// Dir is the base folder: on the server for SFTP/FTP, on disk for
	// local.
	Dir string
	// Timeout bounds connecting and each operation (30s).
	Timeout time.Duration
}

// RemoteOpener connects to a Remote of one kind.
type RemoteOpener func(ctx context.Context, cfg RemoteConfig) (Remote, error)

var (
	remoteMu      sync.RWMutex
	remoteOpeners = map[string]RemoteOpener{}
)

// RegisterRemote makes a kind of Remote available under kind; it panics
// on a duplicate, which is a programming error.
func RegisterRemote(kind string, open RemoteOpener) {
	remoteMu.Lock()
	defer remoteMu.Unlock()
	if _, dup := remoteOpeners[kind]; dup {
		panic("connectors: remote kind registered twice: " + kind)
	}
	remoteOpeners[kind] = open
}

// OpenRemote connects to the Remote cfg describes.
func OpenRemote(ctx context.Context, cfg RemoteConfig) (Remote, error) {
	remoteMu.RLock()
	open := remoteOpeners[cfg.Kind]
	remoteMu.RUnlock()
	if open == nil {
		return nil, Permanently(fmt.Errorf("opening remote: unknown kind %q (known: %v)", cfg.Kind, RemoteKinds()))
	}
	return open(ctx, cfg)
}

// RemoteKinds lists the registered kinds, sorted.
func RemoteKinds() []string {
	remoteMu.RLock()
	defer remoteMu.RUnlock()
	kinds := make([]string, 0, len(remoteOpeners))
	for k := range remoteOpeners {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
