package cgroupv2

import "path/filepath"

// CgroupEvents is cgroup.events. The kernel's text
// (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"):
//
//	cgroup.events
//		A read-only flat-keyed file which exists on non-root cgroups.
//		The following entries are defined.  Unless specified
//		otherwise, a value change in this file generates a file
//		modified event.
//
//		  populated
//			1 if the cgroup or its descendants contains any live
//			processes; otherwise, 0.
//		  frozen
//			1 if the cgroup is frozen; otherwise, 0.
//
// As text: "populated 1\nfrozen 0\n" (testdata/*/cgroup.events).
type CgroupEvents struct {
	Populated bool // some process lives in this cgroup or below
	Frozen    bool
}

// ParseCgroupEvents parses cgroup.events.
func ParseCgroupEvents(b []byte) (CgroupEvents, error) {
	var e CgroupEvents
	err := eachKeyValue(b, func(k []byte, v uint64) {
		switch string(k) {
		case "populated":
			e.Populated = v != 0
		case "frozen":
			e.Frozen = v != 0
		}
	})
	return e, err
}

// ReadCgroupEvents reads dir/cgroup.events.
func ReadCgroupEvents(dir string) (CgroupEvents, error) {
	var e CgroupEvents
	err := parseFile(nil, pathFile(filepath.Join(dir, "cgroup.events")), func(b []byte) (err error) { e, err = ParseCgroupEvents(b); return err })
	return e, err
}
