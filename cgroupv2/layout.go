package cgroupv2

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// QoS is a pod's Kubernetes quality-of-service class. The order of the
// constants is the kill order: BestEffort pods go first.
type QoS int

const (
	BestEffort QoS = iota
	Burstable
	Guaranteed
)

// Classes lists the QoS classes, in kill order.
func Classes() []QoS { return []QoS{BestEffort, Burstable, Guaranteed} }

var _ encoding.TextMarshaler = QoS(0)

func (q QoS) String() string {
	switch q {
	case BestEffort:
		return "BestEffort"
	case Burstable:
		return "Burstable"
	case Guaranteed:
		return "Guaranteed"
	}
	return fmt.Sprintf("QoS(%d)", int(q))
}

// MarshalText makes a QoS print as its name in JSON.
func (q QoS) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalText reads a QoS from its name.
func (q *QoS) UnmarshalText(b []byte) error {
	for _, c := range Classes() {
		if string(b) == c.String() {
			*q = c
			return nil
		}
	}
	return fmt.Errorf("%q is not a QoS class (BestEffort, Burstable, Guaranteed)", b)
}

// Driver is the kubelet's cgroup driver, which decides how directories are named.
type Driver string

const (
	DriverSystemd  Driver = "systemd"  // kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice
	DriverCgroupfs Driver = "cgroupfs" // kubepods/besteffort/pod<uid>
)

// ErrNoKubepods reports that the pods' parent cgroup does not exist (yet).
// On a node where kube-oomd starts before the kubelet, this is expected for a
// while.
var ErrNoKubepods = errors.New("no kubepods cgroup")

// ErrNotCgroup2 reports that the memory controller is not available on the
// cgroup v2 mount.
var ErrNotCgroup2 = errors.New("the memory controller is not on cgroup v2: boot with systemd.unified_cgroup_hierarchy=1 (and cgroup_no_v1=all)")

// Layout says where the kubelet keeps its pods.
type Layout struct {
	Mount    string // the cgroup2 mount, e.g. /sys/fs/cgroup
	Kubepods string // the pods' parent, relative to Mount, e.g. /kubepods.slice
	Driver   Driver
}

// defaultParents are tried, in order, when the kubepods path is not configured.
var defaultParents = [...]string{"/kubepods.slice", "/kubepods"}

// CheckMemoryController returns ErrNotCgroup2 unless mount is a cgroup2
// hierarchy with the memory controller.
func CheckMemoryController(mount string) error {
	b, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("%s is not a cgroup v2 mount (%v): %w", mount, err, ErrNotCgroup2)
	}
	for _, c := range strings.Fields(string(b)) {
		if c == "memory" {
			return nil
		}
	}
	return fmt.Errorf("%s/cgroup.controllers has no \"memory\": %w", mount, ErrNotCgroup2)
}

// DetectLayout finds the pods' parent under mount. kubepods is the configured
// parent ("" tries /kubepods.slice, then /kubepods); driver "" or "auto"
// infers the driver from the parent's name.
func DetectLayout(mount, kubepods string, driver Driver) (Layout, error) {
	tried := defaultParents[:]
	if kubepods != "" {
		tried = []string{kubepods}
	}
	for _, p := range tried {
		fi, err := os.Stat(filepath.Join(mount, p))
		if err != nil || !fi.IsDir() {
			continue
		}
		l := Layout{Mount: mount, Kubepods: path.Clean(p), Driver: driver}
		if driver == "" || driver == "auto" {
			l.Driver = DriverCgroupfs
			if strings.HasSuffix(p, ".slice") {
				l.Driver = DriverSystemd
			}
		}
		return l, nil
	}
	return Layout{}, fmt.Errorf("%w under %s (tried %s; set cgroup.kubepods in the config if the kubelet uses --cgroup-root)",
		ErrNoKubepods, mount, strings.Join(tried, ", "))
}

// Abs returns the absolute directory of a cgroup path relative to the mount.
func (l Layout) Abs(rel string) string { return filepath.Join(l.Mount, rel) }

// QoSOf tells which class a directory directly under kubepods belongs to:
// the BestEffort and Burstable parents, or ok=false for anything else (a
// Guaranteed pod, or a directory that is not the kubelet's).
func (l Layout) qosParent(name string) (QoS, bool) {
	base := strings.TrimSuffix(name, ".slice")
	switch {
	case base == "besteffort" || strings.HasSuffix(base, "-besteffort"):
		return BestEffort, true
	case base == "burstable" || strings.HasSuffix(base, "-burstable"):
		return Burstable, true
	}
	return 0, false
}

// PodUID returns the pod UID that a pod directory's name encodes:
// "kubepods-burstable-pod<uid_with_underscores>.slice" (systemd) or
// "pod<uid>" (cgroupfs). ok is false for any other name.
func PodUID(name string, d Driver) (uid string, ok bool) {
	if d == DriverSystemd {
		if !strings.HasSuffix(name, ".slice") {
			return "", false
		}
		name = strings.TrimSuffix(name, ".slice")
		if i := strings.LastIndex(name, "-pod"); i >= 0 {
			name = name[i+1:]
		}
	}
	raw, found := strings.CutPrefix(name, "pod")
	if !found || raw == "" || !validUID(raw) {
		return "", false
	}
	if d == DriverSystemd {
		raw = strings.ReplaceAll(raw, "_", "-")
	}
	return raw, true
}

func validUID(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Runtime names the container runtime that created a container cgroup.
type Runtime string

const (
	Containerd Runtime = "containerd"
	CRIO       Runtime = "cri-o"
	Docker     Runtime = "docker"
	Unknown    Runtime = "" // cgroupfs driver: a bare container ID
)

// ContainerName parses a container cgroup's directory name. helper is true
// for a runtime's own monitor process (CRI-O's conmon), which lives in the
// pod but is not a container: its oom_score_adj says nothing about the pod.
func ContainerName(name string) (id string, rt Runtime, helper, ok bool) {
	scope := strings.TrimSuffix(name, ".scope")
	switch {
	case strings.HasPrefix(scope, "cri-containerd-"):
		id, rt = strings.TrimPrefix(scope, "cri-containerd-"), Containerd
	case strings.HasPrefix(scope, "crio-conmon-"):
		id, rt, helper = strings.TrimPrefix(scope, "crio-conmon-"), CRIO, true
	case strings.HasPrefix(scope, "crio-"):
		id, rt = strings.TrimPrefix(scope, "crio-"), CRIO
	case strings.HasPrefix(scope, "docker-"):
		id, rt = strings.TrimPrefix(scope, "docker-"), Docker
	case scope == name: // cgroupfs: the bare ID
		id, rt = scope, Unknown
	default:
		return "", "", false, false
	}
	if !isHex(id) {
		return "", "", false, false
	}
	return id, rt, helper, true
}

func isHex(s string) bool {
	if len(s) < 12 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// PodRef identifies one pod cgroup.
type PodRef struct {
	UID  string
	QoS  QoS
	Path string // relative to the mount, e.g. /kubepods.slice/kubepods-pod<uid>.slice
}

// QoSDirs returns the directories that hold pods of each class, relative to
// the mount. Guaranteed pods sit directly in kubepods. A class whose
// directory does not exist (yet) is left out. A kubepods directory that is
// gone (see Classify) is ErrNoKubepods; any other error is returned as is.
func (l Layout) QoSDirs() (map[QoS]string, error) {
	dirs := map[QoS]string{Guaranteed: l.Kubepods}
	entries, err := listDir(l.Abs(l.Kubepods))
	if errors.Is(err, ErrGone) {
		return nil, fmt.Errorf("%w: %w", ErrNoKubepods, err)
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if q, ok := l.qosParent(e.Name()); ok && e.IsDir() {
			dirs[q] = path.Join(l.Kubepods, e.Name())
		}
	}
	return dirs, nil
}

// ListPods lists the pods of one class directory, or of all when dirs is nil.
func (l Layout) ListPods(dirs map[QoS]string) ([]PodRef, error) {
	if dirs == nil {
		var err error
		if dirs, err = l.QoSDirs(); err != nil {
			return nil, err
		}
	}
	var pods []PodRef
	for _, q := range [...]QoS{BestEffort, Burstable, Guaranteed} {
		dir, ok := dirs[q]
		if !ok {
			continue
		}
		refs, err := l.listClass(q, dir)
		if err != nil {
			return nil, err
		}
		pods = append(pods, refs...)
	}
	return pods, nil
}

// listClass lists the pods in one class directory. A class directory that
// vanished (see Classify) holds no pods.
func (l Layout) listClass(q QoS, dir string) ([]PodRef, error) {
	entries, err := listDir(l.Abs(dir))
	if errors.Is(err, ErrGone) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pods []PodRef
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if uid, ok := PodUID(e.Name(), l.Driver); ok {
			pods = append(pods, PodRef{UID: uid, QoS: q, Path: path.Join(dir, e.Name())})
		}
	}
	return pods, nil
}

// PodOf tells whether a directory path (relative to the mount) is a pod of
// this layout, and which.
func (l Layout) PodOf(rel string) (PodRef, bool) {
	parent, name := path.Split(path.Clean(rel))
	parent = path.Clean(parent)
	uid, ok := PodUID(name, l.Driver)
	if !ok {
		return PodRef{}, false
	}
	if parent == l.Kubepods {
		return PodRef{UID: uid, QoS: Guaranteed, Path: path.Clean(rel)}, true
	}
	if path.Dir(parent) != l.Kubepods {
		return PodRef{}, false
	}
	q, ok := l.qosParent(path.Base(parent))
	if !ok {
		return PodRef{}, false
	}
	return PodRef{UID: uid, QoS: q, Path: path.Clean(rel)}, true
}

// ContainerOf tells whether a directory path (relative to the mount) is a
// container of a pod of this layout (a directory of the pod that a
// container runtime named, ContainerName; a runtime's helper included),
// and which pod.
func (l Layout) ContainerOf(rel string) (PodRef, bool) {
	rel = path.Clean(rel)
	if _, _, _, ok := ContainerName(path.Base(rel)); !ok {
		return PodRef{}, false
	}
	return l.PodOf(path.Dir(rel))
}
