package procfs

import (
	"os"
	"path/filepath"
	"strings"
)

// /proc/sys/kernel/osrelease, as the kernel documents it
// (Documentation/admin-guide/sysctl/kernel.rst, "osrelease, ostype &
// version"):
//
//	# cat osrelease
//	2.1.88
//	# cat ostype
//	Linux
//
// As text: the release and a newline ("6.1.0-28-amd64\n").

// KernelRelease returns root/sys/kernel/osrelease, or "unknown".
func KernelRelease(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "sys", "kernel", "osrelease"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
