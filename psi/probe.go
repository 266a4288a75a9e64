package psi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsupported reports a kernel without PSI.
var ErrUnsupported = errors.New("kernel has no pressure stall information (CONFIG_PSI, Linux 4.20+)")

// Probe checks that PSI is usable by reading procRoot/pressure/memory
// (procRoot is normally "/proc"). It returns nil if the file reads and
// parses; an error wrapping ErrDisabled if PSI is switched off; an error
// wrapping ErrUnsupported if the file does not exist and the kernel
// command line does not switch PSI off; otherwise the read or parse error.
// Errors name the file.
//
// A kernel switched off at boot answers EOPNOTSUPP on the file (older
// kernels, RHEL 8's 4.18) or has no /proc/pressure at all (recent ones):
// then procRoot/cmdline tells psi=0 from a kernel without CONFIG_PSI.
func Probe(procRoot string) error {
	path := filepath.Join(procRoot, "pressure", "memory")
	_, err := ReadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	cmdline := filepath.Join(procRoot, "cmdline")
	if b, cerr := os.ReadFile(cmdline); cerr == nil {
		if off, arg := switchedOff(string(b)); off {
			return fmt.Errorf("%w (%w; %s has %s)", err, ErrDisabled, cmdline, arg)
		}
	}
	return fmt.Errorf("%w (%w; or, if it was built with CONFIG_PSI_DEFAULT_DISABLED, boot it with psi=1)", err, ErrUnsupported)
}

// switchedOff tells whether a kernel command line switches PSI off, and
// by which argument: the last psi= counts, read as the kernel's kstrtobool
// reads it.
func switchedOff(cmdline string) (off bool, arg string) {
	for _, f := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(f, "psi=")
		if !ok || v == "" {
			continue
		}
		switch v[0] {
		case '0', 'n', 'N', 'f', 'F':
			off, arg = true, f
		case '1', 'y', 'Y', 't', 'T':
			off, arg = false, ""
		case 'o', 'O':
			if len(v) > 1 {
				switch v[1] {
				case 'n', 'N':
					off, arg = false, ""
				case 'f', 'F':
					off, arg = true, f
				}
			}
		}
	}
	return off, arg
}
