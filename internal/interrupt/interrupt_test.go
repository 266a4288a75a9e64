package interrupt

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Write signals its own thread once ctx ends, until the write returns. A
// write that does not block (a regular file: the interruption of
// memory.reclaim and memory.max is the VM's to prove) completes whole, and
// the signaller stops with it.
func TestWriteCompletes(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 50 {
		if i == 25 {
			cancel() // from here on the signaller runs during each write
		}
		if n, err := Write(ctx, int(f.Fd()), []byte("12345")); n != 5 || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if b, _ := os.ReadFile(f.Name()); len(b) != 250 {
		t.Errorf("file has %d bytes, want 250", len(b))
	}
}
