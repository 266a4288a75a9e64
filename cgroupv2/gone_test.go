package cgroupv2_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

func TestClassify(t *testing.T) {
	const path = "/sys/fs/cgroup/kubepods.slice/x/memory.high"
	for _, tc := range []struct {
		err  error
		gone bool
	}{
		{unix.ENOENT, true},
		{unix.ENODEV, true},
		{&fs.PathError{Op: "open", Path: "elsewhere", Err: unix.ENOENT}, true},
		{fs.ErrNotExist, true},
		{unix.EMFILE, false},
		{unix.ENFILE, false},
		{unix.EACCES, false},
		{unix.ENOMEM, false},
		{unix.EIO, false},
		{&fs.PathError{Op: "open", Path: path, Err: unix.EMFILE}, false},
	} {
		err := cgroupv2.Classify("write", path, tc.err)
		if got := errors.Is(err, cgroupv2.ErrGone); got != tc.gone {
			t.Errorf("Classify(%v): gone = %v, want %v (%v)", tc.err, got, tc.gone, err)
		}
		if !strings.Contains(err.Error(), path) || strings.Count(err.Error(), "/sys/fs") != 1 {
			t.Errorf("Classify(%v) = %q: want the path named once", tc.err, err)
		}
		var errno unix.Errno
		if errors.As(tc.err, &errno) && !errors.Is(err, errno) {
			t.Errorf("Classify(%v) = %v: the errno is lost", tc.err, err)
		}
		if !tc.gone {
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Op != "write" || pe.Path != path {
				t.Errorf("Classify(%v) = %#v, want an *fs.PathError for write %s", tc.err, err, path)
			}
		}
	}
	if cgroupv2.Classify("read", path, nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	gone := cgroupv2.Classify("read", path, unix.ENOENT)
	if again := cgroupv2.Classify("read", "/other", gone); again != gone {
		t.Errorf("Classify of an ErrGone = %v, want it unchanged", again)
	}
}

// ENOENT on a file of a cgroup ("read", "write") is gone only when the
// cgroup's directory is gone too: a file can be missing from a live cgroup
// (cgroup.pressure 0 removes memory.pressure; a controller not enabled has
// no files). ENOENT on the directory itself is gone.
func TestClassifyMissingFile(t *testing.T) {
	live := t.TempDir()
	removed := filepath.Join(live, "removed")
	for _, op := range []string{"read", "write"} {
		err := cgroupv2.Classify(op, filepath.Join(live, "memory.pressure"), &fs.PathError{Op: "open", Path: "x", Err: unix.ENOENT})
		var pe *fs.PathError
		if errors.Is(err, cgroupv2.ErrGone) || !errors.Is(err, cgroupv2.ErrMissingFile) || !errors.Is(err, unix.ENOENT) ||
			!errors.As(err, &pe) || pe.Op != op || pe.Path != filepath.Join(live, "memory.pressure") {
			t.Errorf("%s of a file missing from a live cgroup: %#v (%v), want an *fs.PathError wrapping ErrMissingFile and ENOENT, not ErrGone", op, err, err)
		}
		if err := cgroupv2.Classify(op, filepath.Join(removed, "memory.pressure"), unix.ENOENT); !errors.Is(err, cgroupv2.ErrGone) || errors.Is(err, cgroupv2.ErrMissingFile) {
			t.Errorf("%s of a file of a removed cgroup: %v, want ErrGone", op, err)
		}
		if err := cgroupv2.Classify(op, filepath.Join(live, "memory.pressure"), unix.ENODEV); !errors.Is(err, cgroupv2.ErrGone) {
			t.Errorf("%s: ENODEV: %v, want ErrGone", op, err)
		}
	}
	for _, op := range []string{"open", "stat", "readdir"} {
		if err := cgroupv2.Classify(op, removed, unix.ENOENT); !errors.Is(err, cgroupv2.ErrGone) {
			t.Errorf("%s of a removed cgroup directory: %v, want ErrGone", op, err)
		}
	}
}

func TestFormatLimit(t *testing.T) {
	for v, want := range map[uint64]string{cgroupv2.Unlimited: "max", 0: "0", 300 << 20: "314572800", cgroupv2.Unlimited - 1: "18446744073709551614"} {
		if got := cgroupv2.FormatLimit(v); got != want {
			t.Errorf("FormatLimit(%d) = %q, want %q", v, got, want)
		}
		if back, err := cgroupv2.ParseUint([]byte(want)); err != nil || back != v {
			t.Errorf("ParseUint(FormatLimit(%d)) = %d, %v", v, back, err)
		}
	}
}

// failReadDir makes every directory listing under dir fail with errno.
func failReadDir(t *testing.T, dir string, errno error) {
	t.Cleanup(cgroupv2.SetReadDir(func(d string) ([]os.DirEntry, error) {
		if d == dir || strings.HasPrefix(d, dir+"/") {
			return nil, &fs.PathError{Op: "open", Path: d, Err: errno}
		}
		return os.ReadDir(d)
	}))
}

// A directory that cannot be listed for want of a file descriptor or of
// permission is not a pod that went away: the scan, the pod read and the
// kill's process listing must fail, not skip it.
func TestListingErrorsAreNotGone(t *testing.T) {
	for _, errno := range []unix.Errno{unix.EMFILE, unix.EACCES, unix.ENOMEM} {
		t.Run(errno.Error(), func(t *testing.T) {
			tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
			uids := onePerClass(tree, cgroupv2.Containerd)
			l := tree.Layout()
			rel := tree.PodPath(uids[cgroupv2.Burstable], cgroupv2.Burstable)
			dir := l.Abs(rel)
			r := cgroupv2.NewReader(l, tree.Proc)
			refs, err := l.ListPods(nil)
			if err != nil {
				t.Fatal(err)
			}
			failReadDir(t, dir, errno)

			check := func(what string, err error) {
				t.Helper()
				if err == nil || errors.Is(err, cgroupv2.ErrGone) || !errors.Is(err, errno) {
					t.Errorf("%s: err = %v, want %v, not ErrGone", what, err, errno)
				} else if !strings.Contains(err.Error(), dir) {
					t.Errorf("%s: error %q does not name %s", what, err, dir)
				}
			}
			_, err = r.ReadPod(cgroupv2.PodRef{UID: uids[cgroupv2.Burstable], QoS: cgroupv2.Burstable, Path: rel})
			check("ReadPod", err)
			pods, err := r.ReadPods(refs)
			check("ReadPods", err)
			if len(pods) != 2 {
				t.Errorf("ReadPods: %d pods, want the 2 others", len(pods))
			}
			snap, err := r.Scan()
			check("Scan", err)
			if len(snap.Pods) != 2 {
				t.Errorf("Scan: %d pods, want the 2 others", len(snap.Pods))
			}
			_, err = cgroupv2.Procs(dir, true)
			check("Procs", err)
			// The pod's parent cannot be listed: no pod of that class is
			// taken for gone either.
			failReadDir(t, filepath.Dir(dir), errno)
			_, err = l.ListPods(nil)
			if !errors.Is(err, errno) || errors.Is(err, cgroupv2.ErrGone) {
				t.Errorf("ListPods: err = %v, want %v", err, errno)
			}
			failReadDir(t, l.Abs(l.Kubepods), errno)
			_, err = l.QoSDirs()
			if !errors.Is(err, errno) || errors.Is(err, cgroupv2.ErrNoKubepods) {
				t.Errorf("QoSDirs: err = %v, want %v, not ErrNoKubepods", err, errno)
			}
		})
	}
}

// The same listing failing with ENOENT or ENODEV is a pod that is gone.
func TestListingGoneIsGone(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOENT, unix.ENODEV} {
		t.Run(errno.Error(), func(t *testing.T) {
			tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
			uids := onePerClass(tree, cgroupv2.Containerd)
			l := tree.Layout()
			rel := tree.PodPath(uids[cgroupv2.Burstable], cgroupv2.Burstable)
			dir := l.Abs(rel)
			failReadDir(t, dir, errno)
			r := cgroupv2.NewReader(l, tree.Proc)
			if _, err := r.ReadPod(cgroupv2.PodRef{UID: uids[cgroupv2.Burstable], QoS: cgroupv2.Burstable, Path: rel}); !errors.Is(err, cgroupv2.ErrGone) {
				t.Errorf("ReadPod: err = %v, want ErrGone", err)
			}
			if _, err := cgroupv2.Procs(dir, true); !errors.Is(err, cgroupv2.ErrGone) {
				t.Errorf("Procs: err = %v, want ErrGone", err)
			}
			snap, err := r.Scan()
			if err != nil || len(snap.Pods) != 2 {
				t.Errorf("Scan: %d pods, %v; want the 2 others and no error", len(snap.Pods), err)
			}
			failReadDir(t, l.Abs(l.Kubepods), errno)
			if _, err := l.QoSDirs(); !errors.Is(err, cgroupv2.ErrNoKubepods) {
				t.Errorf("QoSDirs: err = %v, want ErrNoKubepods", err)
			}
		})
	}
}

func TestIDGone(t *testing.T) {
	dir := t.TempDir()
	if _, err := cgroupv2.ID(filepath.Join(dir, "gone")); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("ID of a missing directory: %v, want ErrGone", err)
	}
	if _, err := cgroupv2.ID(filepath.Join(dir, strings.Repeat("x", 300))); err == nil || errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("ID of a path too long: %v, want a real error (ENAMETOOLONG)", err)
	}
}
