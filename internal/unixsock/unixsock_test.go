package unixsock

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// A socket is created root only, and goes with its listener.
func TestListenCreatesARootOnlySocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != Mode {
		t.Fatalf("socket: %v, %v; want a socket, mode %o", fi, err, os.FileMode(Mode))
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
}

// A socket left by a daemon that died is replaced; one that a process
// serves on, or a file that is not a socket, is left alone and said so.
func TestListenLeftovers(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the file stays, no one listens: as after a crash
	ln, err := Listen(stale)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	if _, err := Listen(stale); !errors.Is(err, ErrInUse) {
		t.Errorf("Listen on a socket in use: %v, want ErrInUse", err)
	}
	ln.Close()

	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep me"), 0o644)
	if _, err := Listen(file); !errors.Is(err, ErrNotSocket) {
		t.Errorf("Listen on a regular file: %v, want ErrNotSocket", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("the file was touched: %q", b)
	}
}
