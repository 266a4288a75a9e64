package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// /proc/<pid>/statm, as the kernel documents it
// (Documentation/filesystems/proc.rst, "Table 1-3: Contents of the statm
// fields (as of 2.6.8-rc3)"):
//
//	 Field    Content
//	 size     total program size (pages)        (same as VmSize in status)
//	 resident size of memory portions (pages)   (same as VmRSS in status)
//	 shared   number of pages that are shared   (i.e. backed by a file, same
//	                                            as RssFile+RssShmem in status)
//	 trs      number of pages that are 'code'   (not including libs; broken,
//	                                            includes data segment)
//	 lrs      number of pages of library        (always 0 on 2.6)
//	 drs      number of pages of data/stack     (including libs; broken,
//	                                            includes library text)
//	 dt       number of dirty pages             (always 0 on 2.6)
//
// As text: "2566 897 745 1 0 134 0\n", in pages of the kernel's page size.

// ParseStatmRSS parses /proc/<pid>/statm and returns the resident size in
// bytes; pageSize is the kernel's (cgroupv2.PageSize).
func ParseStatmRSS(b []byte, pageSize uint64) (uint64, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("%w: statm %q has no resident field", ErrMalformed, bytes.TrimSpace(b))
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil || pages > (1<<63)/max(pageSize, 1) {
		return 0, fmt.Errorf("%w: statm resident %q is not a page count", ErrMalformed, f[1])
	}
	return pages * pageSize, nil
}

// ReadRSS returns the resident memory of pid, from root/<pid>/statm, read
// into buf (nil allocates). A process that exited is ErrNoProcess.
func ReadRSS(buf []byte, root string, pid int, pageSize uint64) (uint64, error) {
	var rss uint64
	err := readPID(buf, root, pid, "statm", func(b []byte) (err error) { rss, err = ParseStatmRSS(b, pageSize); return err })
	return rss, err
}
