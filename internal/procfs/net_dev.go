package procfs

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// /proc/self/net/dev, as the kernel documents it
// (Documentation/filesystems/proc.rst, "Table 1-9: Network info in
// /proc/net"): "dev  network devices with statistics". Two lines of
// headers, then one line per interface of the reader's network namespace,
// its name before a colon:
//
//	Inter-|   Receive                            |  Transmit
//	 face |bytes    packets errs drop fifo frame compressed multicast|bytes ...
//	    lo:  123456     789    0    0    0     0          0         0   123456 ...
//	  eth0: 9876543   12345    0    0    0     0          0         0  1234567 ...

// ParseLoopbackOnly says whether the text of a /proc/<pid>/net/dev lists
// lo and no other interface.
func ParseLoopbackOnly(r io.Reader) (bool, error) {
	sc := bufio.NewScanner(r)
	only := false
	for n := 0; sc.Scan(); n++ {
		name, _, ok := strings.Cut(sc.Text(), ":")
		if n < 2 || !ok { // two lines of headers
			continue
		}
		if strings.TrimSpace(name) != "lo" {
			return false, nil
		}
		only = true
	}
	return only, sc.Err()
}

// LoopbackOnly says whether the reader's network namespace has no network
// interface but lo: root/self/net/dev.
func LoopbackOnly(root string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(root, "self", "net", "dev"))
	if err != nil {
		return false, err
	}
	return ParseLoopbackOnly(bytes.NewReader(b))
}
