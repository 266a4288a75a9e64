// Package unixsock opens kube-oomd's root-only unix sockets (status.sock,
// the metrics endpoint's): a stale socket at the path, left by a daemon
// that died, is replaced; anything else there is left alone and said so.
package unixsock

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// Errors of Listen about what is at the path.
var (
	ErrNotSocket = errors.New("it exists and is not a socket: kube-oomd removes only a stale socket of its own")
	ErrInUse     = errors.New("another process serves on that socket")
)

// Mode is a socket's mode: root only. The directory (0700 under the unit)
// and the umask (0077) keep others out until it is set.
const Mode = 0o600

// Listen listens on a unix socket at path, created with Mode. The socket
// file goes when the listener is closed.
func Listen(path string) (net.Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, Mode); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// removeStale removes a socket at path that no process serves on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s: %w", path, ErrNotSocket)
	}
	// A unix connect is answered at once: refused when no one listens.
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: %w", path, ErrInUse)
	}
	return os.Remove(path)
}
