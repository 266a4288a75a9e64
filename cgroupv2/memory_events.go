package cgroupv2

import "path/filepath"

// MemoryEvents is memory.events: cumulative counters, hierarchical. The
// kernel's text (Documentation/admin-guide/cgroup-v2.rst, "Memory
// Interface Files"):
//
//	memory.events
//		A read-only flat-keyed file which exists on non-root cgroups.
//		The following entries are defined.  Unless specified
//		otherwise, a value change in this file generates a file
//		modified event.
//
//		Note that all fields in this file are hierarchical and the
//		file modified event can be generated due to an event down the
//		hierarchy. For the local events at the cgroup level see
//		memory.events.local.
//
//		  low, high, max, oom, oom_kill, oom_group_kill
//
//	memory.events.local
//		Similar to memory.events but the fields in the file are local
//		to the cgroup i.e. not hierarchical. The file modified event
//		generated on this file reflects only the local events.
//
// As text: "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"
// (testdata/*/memory.events); oom_group_kill is 5.17+.
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
