package cgroupv2

import "path/filepath"

// MemoryStat holds the memory.stat fields kube-oomd uses, in bytes. The
// kernel's text (Documentation/admin-guide/cgroup-v2.rst, "Memory
// Interface Files"):
//
//	memory.stat
//		A read-only flat-keyed file which exists on non-root cgroups.
//
//		This breaks down the cgroup's memory footprint into different
//		types of memory, type-specific details, and other information
//		on the state and past events of the memory management system.
//
//		All memory amounts are in bytes.
//
//		The entries are ordered to be human readable, and new entries
//		can show up in the middle. Don't rely on items remaining in a
//		fixed position; use the keys to look up specific values!
//
//		  anon
//			Amount of memory used in anonymous mappings such as
//			brk(), sbrk(), and mmap(MAP_ANONYMOUS)
//		  file
//			Amount of memory used to cache filesystem data,
//			including tmpfs and shared memory.
//		  shmem
//			Amount of cached filesystem data that is swap-backed,
//			such as tmpfs, shm segments, shared anonymous mmap()s
//		  active_anon, inactive_anon, active_file, inactive_file, unevictable
//			Amount of memory, swap-backed and filesystem-backed,
//			on the internal memory management lists used by the
//			page reclaim algorithm.
//
// So it is read by key, and an unknown key is skipped
// (testdata/*/memory.stat).
type MemoryStat struct {
	Anon         uint64
	File         uint64
	ActiveFile   uint64
	InactiveFile uint64
	Shmem        uint64
}

// ParseMemoryStat parses memory.stat, keeping the fields of MemoryStat.
func ParseMemoryStat(b []byte) (MemoryStat, error) {
	var s MemoryStat
	err := eachKeyValue(b, func(k []byte, v uint64) {
		switch string(k) {
		case "anon":
			s.Anon = v
		case "file":
			s.File = v
		case "active_file":
			s.ActiveFile = v
		case "inactive_file":
			s.InactiveFile = v
		case "shmem":
			s.Shmem = v
		}
	})
	return s, err
}

// ReadMemoryStat reads dir/memory.stat.
func ReadMemoryStat(dir string) (MemoryStat, error) {
	return readMemoryStat(nil, pathFile(filepath.Join(dir, "memory.stat")))
}

// readMemoryStat reads a memory.stat file.
func readMemoryStat(buf []byte, f file) (MemoryStat, error) {
	var s MemoryStat
	err := parseFile(buf, f, func(b []byte) (err error) { s, err = ParseMemoryStat(b); return err })
	return s, err
}

// WorkingSet is what the kubelet calls a cgroup's working set: memory.current
// minus inactive file pages, never below zero.
func WorkingSet(current uint64, stat MemoryStat) uint64 {
	if stat.InactiveFile >= current {
		return 0
	}
	return current - stat.InactiveFile
}
