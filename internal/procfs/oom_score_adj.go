package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// /proc/<pid>/oom_score_adj, as the kernel documents it
// (Documentation/filesystems/proc.rst, "/proc/<pid>/oom_adj &
// /proc/<pid>/oom_score_adj"):
//
//	The value of /proc/<pid>/oom_score_adj is added to the badness score
//	before it is used to determine which task to kill.  Acceptable values
//	range from -1000 (OOM_SCORE_ADJ_MIN) to +1000 (OOM_SCORE_ADJ_MAX).
//	[...] Consequently, it is very simple for userspace to define the
//	amount of memory to consider for each task.  Setting a
//	/proc/<pid>/oom_score_adj value of -1000 disables oom killing
//	entirely for that task.
//
// As text: one decimal number and a newline ("-997\n").

// OOMScoreAdjMin is OOM_SCORE_ADJ_MIN, -1000: a process the kernel's OOM
// killer never kills, with or without memory.oom.group.
const OOMScoreAdjMin = -1000

// ParseOOMScoreAdj parses the text of /proc/<pid>/oom_score_adj.
func ParseOOMScoreAdj(b []byte) (int, error) {
	s := bytes.TrimSpace(b)
	adj, err := strconv.Atoi(string(s))
	if err != nil || adj < -1000 || adj > 1000 {
		return 0, fmt.Errorf("%w: %q is not an oom_score_adj", ErrMalformed, s)
	}
	return adj, nil
}

// ReadOOMScoreAdj reads root/<pid>/oom_score_adj, into buf (a scratch
// buffer the caller reuses; nil allocates). A process that exited is
// ErrNoProcess.
func ReadOOMScoreAdj(buf []byte, root string, pid int) (int, error) {
	var adj int
	err := readPID(buf, root, pid, "oom_score_adj", func(b []byte) (err error) { adj, err = ParseOOMScoreAdj(b); return err })
	return adj, err
}
