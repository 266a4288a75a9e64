package psi

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// ErrUnsupported reports a kernel without PSI.
var ErrUnsupported = errors.New("kernel has no pressure stall information (CONFIG_PSI, Linux 4.20+)")

// Probe checks that PSI is usable by reading procRoot/pressure/memory
// (procRoot is normally "/proc"). It returns nil if the file reads and
// parses; an error wrapping ErrUnsupported if it does not exist; an error
// wrapping ErrDisabled if PSI is switched off; otherwise the read or parse
// error. Errors name the file.
func Probe(procRoot string) error {
	path := filepath.Join(procRoot, "pressure", "memory")
	_, err := ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%w)", err, ErrUnsupported)
	}
	return err
}
