// Package rundir names kube-oomd's run directory and the files the daemon
// keeps in it: each name is written here once, for the daemon that makes
// them and for the config check that must keep metrics.listen off them.
package rundir

import (
	"path/filepath"
	"strings"

	"github.com/kube-oomd/kube-oomd/internal/statefile"
)

// Dir is the run directory: the daemon's lock, its status socket and the
// state that must survive a restart (not a reboot).
const Dir = "/run/kube-oomd"

// The daemon's files in the run directory.
const (
	Lock       = "kube-oomd.lock" // one daemon at a time
	StatusSock = "status.sock"    // `kube-oomd status`
	Throttles  = "throttles.json" // the memory.high in force
	Frozen     = "frozen.json"    // the cgroups a kill in progress froze
	Limits     = "limits.json"    // the memory.max a kill.method oom kill lowered
)

// own describes each of the daemon's files.
var own = map[string]string{
	Lock:       "lock",
	StatusSock: "status socket",
	Throttles:  "state file",
	Frozen:     "state file",
	Limits:     "state file",
}

// Own says whether path is dir itself or one of the daemon's files in it,
// and which. A path under /var/run is taken as under /run, which it
// usually is.
func Own(dir, path string) (what string, ok bool) {
	path = filepath.Clean(path)
	if rest, ok := strings.CutPrefix(path, "/var/run/"); ok && strings.HasPrefix(dir, "/run/") {
		path = "/run/" + rest
	}
	if path == filepath.Clean(dir) {
		return "run directory", true
	}
	if filepath.Dir(path) != filepath.Clean(dir) {
		return "", false
	}
	name := filepath.Base(path)
	if what, ok := own[name]; ok {
		return what, true
	}
	if base, ok := strings.CutSuffix(name, statefile.TempSuffix); ok && own[base] == "state file" {
		return "state file's temporary copy", true
	}
	return "", false
}
