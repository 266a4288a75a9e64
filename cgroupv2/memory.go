package cgroupv2

import "path/filepath"

// MemoryStat holds the memory.stat fields kube-oomd uses, in bytes.
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

// MemoryEvents is memory.events: cumulative counters, hierarchical.
type MemoryEvents struct {
	Low          uint64 // reclaimed below memory.low
	High         uint64 // throttled over memory.high
	Max          uint64 // hit memory.max; reclaim was forced
	OOM          uint64 // an allocation was about to fail
	OOMKill      uint64 // processes killed by the kernel OOM killer
	OOMGroupKill uint64 // whole-group OOM kills (5.17+)
}

// ParseMemoryEvents parses memory.events (or memory.events.local).
func ParseMemoryEvents(b []byte) (MemoryEvents, error) {
	var e MemoryEvents
	err := eachKeyValue(b, func(k []byte, v uint64) {
		switch string(k) {
		case "low":
			e.Low = v
		case "high":
			e.High = v
		case "max":
			e.Max = v
		case "oom":
			e.OOM = v
		case "oom_kill":
			e.OOMKill = v
		case "oom_group_kill":
			e.OOMGroupKill = v
		}
	})
	return e, err
}

// readMemoryStat reads a memory.stat file.
func readMemoryStat(buf []byte, f file) (MemoryStat, error) {
	var s MemoryStat
	err := parseFile(buf, f, func(b []byte) (err error) { s, err = ParseMemoryStat(b); return err })
	return s, err
}

// ReadMemoryEvents reads dir/memory.events.
func ReadMemoryEvents(dir string) (MemoryEvents, error) {
	return readMemoryEvents(nil, pathFile(filepath.Join(dir, "memory.events")))
}

// ReadMemoryEventsLocal reads dir/memory.events.local (5.2+): the events
// of dir's own limits only. A pod slice's high counter there counts hits
// of the pod's own memory.high, not of its containers' (the kubelet's
// MemoryQoS sets those, and they tick on healthy pods).
func ReadMemoryEventsLocal(dir string) (MemoryEvents, error) {
	return readMemoryEvents(nil, pathFile(filepath.Join(dir, "memory.events.local")))
}

func readMemoryEvents(buf []byte, f file) (MemoryEvents, error) {
	var e MemoryEvents
	err := parseFile(buf, f, func(b []byte) (err error) { e, err = ParseMemoryEvents(b); return err })
	return e, err
}

// WorkingSet is what the kubelet calls a cgroup's working set: memory.current
// minus inactive file pages, never below zero.
func WorkingSet(current uint64, stat MemoryStat) uint64 {
	if stat.InactiveFile >= current {
		return 0
	}
	return current - stat.InactiveFile
}
