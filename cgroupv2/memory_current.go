package cgroupv2

import "path/filepath"

// memory.current, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files"):
//
//	memory.current
//		A read-only single value file which exists on non-root
//		cgroups.
//
//		The total amount of memory currently being used by the cgroup
//		and its descendants.
//
// As text: a number of bytes and a newline (testdata/*/memory.current).
// A scan reads it with its own buffer (pod.go).

// ReadCurrent reads dir/memory.current.
func ReadCurrent(dir string) (uint64, error) {
	return ReadUint(filepath.Join(dir, "memory.current"))
}
