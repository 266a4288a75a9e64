package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// /proc/<pid>/stat, as proc(5) documents it: one line of fields separated
// by spaces, the second, comm, in parentheses (it may hold spaces and
// parentheses itself, so the fields after it are counted from the last
// ")"). Read here: (3) state, one character; (9) flags, the kernel's
// PF_* flags in decimal; (31) signal, the thread's own pending signals as
// a decimal bitmap (the low 31 signals).
//
//	1234 (python3) R 1200 1234 1200 0 -1 4194624 ... 256 0 0 0 ...

// pfExiting is PF_EXITING (include/linux/sched.h): set by do_exit, at the
// start of a task's exit, before its memory is torn down.
const pfExiting = 0x00000004

// sigkillBit is SIGKILL's bit (signal 9) in a pending-signal bitmap.
const sigkillBit = 1 << (9 - 1)

// ParseStatDying parses the text of /proc/<pid>/stat and says whether the
// process is dying for good: a zombie or dead (state Z, X or x), exiting
// (PF_EXITING), or with a SIGKILL pending, which a fatal signal to the
// group (a kill, the kernel's OOM killer) adds to each of its threads and
// nothing can take back.
func ParseStatDying(b []byte) (bool, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false, fmt.Errorf("%w: no \")\" after comm", ErrMalformed)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 29 {
		return false, fmt.Errorf("%w: %d fields after comm, want at least 29", ErrMalformed, len(f))
	}
	if len(f[0]) != 1 {
		return false, fmt.Errorf("%w: state %q", ErrMalformed, f[0])
	}
	flags, err := strconv.ParseUint(string(f[9-3]), 10, 64)
	if err != nil {
		return false, fmt.Errorf("%w: flags %q", ErrMalformed, f[9-3])
	}
	sig, err := strconv.ParseUint(string(f[31-3]), 10, 64)
	if err != nil {
		return false, fmt.Errorf("%w: signal %q", ErrMalformed, f[31-3])
	}
	switch f[0][0] {
	case 'Z', 'X', 'x':
		return true, nil
	}
	return flags&pfExiting != 0 || sig&sigkillBit != 0, nil
}

// ReadStatDying reads root/<pid>/stat into buf (nil allocates) and says
// whether the process is dying (ParseStatDying). A process that exited is
// ErrNoProcess.
func ReadStatDying(buf []byte, root string, pid int) (bool, error) {
	var dying bool
	err := readPID(buf, root, pid, "stat", func(b []byte) (err error) { dying, err = ParseStatDying(b); return err })
	return dying, err
}
