package systemd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The journald native protocol is newline-separated NAME=value; a value
// with a newline must go as NAME, a newline, its length (64 bits, little
// endian), the bytes and a newline. Else a pod named "x\nMESSAGE_ID=..."
// would add a field. journal.Send (go-systemd) does that; this test sends
// through it, on its real path, to a journald socket of its own: the test
// binary runs again in a mount namespace of its own, with a tmpfs on /run
// (root only; skipped elsewhere).
func TestJournalSendEncodesNewlinesByLength(t *testing.T) {
	if os.Getenv(nativeHelperEnv) == "1" {
		nativeHelper(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, for a mount namespace with a journald socket of its own")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSendEncodesNewlinesByLength$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), nativeHelperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	var pe *os.PathError
	if errors.As(err, &pe) || errors.Is(err, syscall.EPERM) {
		t.Skipf("no mount namespace here: %v", err)
	}
	if err != nil {
		t.Fatalf("in its own mount namespace: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("--- SKIP")) {
		t.Skipf("in its own mount namespace:\n%s", out)
	}
	if !bytes.Contains(out, []byte("--- PASS")) {
		t.Fatalf("the helper did not run:\n%s", out)
	}
}

// decodeNative reads both forms, and a newline sent as text adds a field:
// what the length form prevents.
func TestDecodeNative(t *testing.T) {
	b := []byte("A=1\nB\n\x03\x00\x00\x00\x00\x00\x00\x00x\ny\nC=x\nD=forged\n")
	got, err := decodeNative(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != `map[A:[1] B:[x
y] C:[x] D:[forged]]` {
		t.Errorf("decodeNative = %q", got)
	}
	if _, err := decodeNative([]byte("B\n\x09\x00\x00\x00\x00\x00\x00\x00x\n")); err == nil {
		t.Error("a short value decoded")
	}
}

const nativeHelperEnv = "KUBE_OOMD_TEST_JOURNAL_NATIVE"

// nativeHelper runs in a mount namespace of its own: it listens where
// journald does, logs a record through JournalHandler with journal.Send,
// and decodes the datagram.
func nativeHelper(t *testing.T) {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Skipf("cannot make the mounts private: %v", err)
	}
	if err := syscall.Mount("tmpfs", "/run", "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs on /run: %v", err)
	}
	dir := "/run/systemd/journal"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "socket"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	const name = "x\nMESSAGE_ID=00000000000000000000000000000000"
	log := slog.New(NewJournalHandler(slog.LevelInfo, nil))
	log.Warn("killed pod", MessageIDKey, "7afd622d79014eba9c7ef0a2d0c2ec1f", "pod_name", name, "container", "a\tb")

	ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1<<16)
	n, err := ln.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	fields, err := decodeNative(buf[:n])
	if err != nil {
		t.Fatalf("datagram %q: %v", buf[:n], err)
	}
	want := map[string]string{
		"PRIORITY":            "4",
		"MESSAGE":             `killed pod pod_name="x\nMESSAGE_ID=00000000000000000000000000000000" container="a\tb"`,
		"MESSAGE_ID":          "7afd622d79014eba9c7ef0a2d0c2ec1f",
		"KUBE_OOMD_POD_NAME":  name,
		"KUBE_OOMD_CONTAINER": "a\tb",
	}
	for k, v := range want {
		if got := fields[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want exactly [%q]", k, got, v)
		}
	}
	if len(fields) != len(want) {
		t.Errorf("fields = %q, want exactly the names of %q", fields, want)
	}
	if !bytes.Contains(buf[:n], []byte("KUBE_OOMD_POD_NAME\n")) {
		t.Errorf("datagram %q: the name with a newline is not sent by length", buf[:n])
	}
}

// decodeNative decodes a datagram of the journald native protocol.
func decodeNative(b []byte) (map[string][]string, error) {
	fields := map[string][]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("no newline after %q", b)
		}
		if eq := bytes.IndexByte(b[:nl], '='); eq >= 0 {
			fields[string(b[:eq])] = append(fields[string(b[:eq])], string(b[eq+1:nl]))
			b = b[nl+1:]
			continue
		}
		name, rest := string(b[:nl]), b[nl+1:]
		if len(rest) < 8 {
			return nil, fmt.Errorf("%s: no length", name)
		}
		size := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if uint64(len(rest)) < size+1 || rest[size] != '\n' {
			return nil, fmt.Errorf("%s: %d bytes and a newline do not follow", name, size)
		}
		fields[name] = append(fields[name], string(rest[:size]))
		b = rest[size+1:]
	}
	return fields, nil
}
