package cgroupv2

import (
	"math"
	"os"
)

// Pages: the kernel keeps memory limits, and reclaims, in whole pages.
// Documentation/admin-guide/cgroup-v2.rst ("Memory Interface Files"):
//
//	All memory amounts are in bytes.  If a value which is not aligned to
//	PAGE_SIZE is written, the value may be rounded up to the closest
//	PAGE_SIZE multiple when read back.
//
// What the kernel does (page_counter_memparse) is round down: a limit
// written to memory.high or memory.max reads back as v / PAGE_SIZE pages
// (RoundLimit), and memory.reclaim asks for the bytes written, in pages,
// rounded down too (ReclaimRequest). The page size is 4 KiB on x86, 4, 16
// or 64 KiB on arm64: never assume 4 KiB.

// MinPageSize is the smallest page a Linux kernel has, 4 KiB: the smallest
// amount a memory.reclaim write can ask for on any kernel (config's lower
// bound of relief.reclaim_chunk).
const MinPageSize = 4 << 10

// PageSize returns the running kernel's page size, in bytes
// (os.Getpagesize). Features.PageSize holds it once probed; the /proc
// readers take it as a parameter (statm counts pages).
func PageSize() uint64 { return uint64(os.Getpagesize()) }

// PagesDown returns v rounded down to a whole page: what a limit written
// as v is kept as. pageSize 0 rounds nothing.
func PagesDown(v, pageSize uint64) uint64 {
	if pageSize == 0 {
		return v
	}
	return v / pageSize * pageSize
}

// PagesUp returns v rounded up to a whole page. pageSize 0 rounds nothing.
func PagesUp(v, pageSize uint64) uint64 {
	if pageSize == 0 || v%pageSize == 0 {
		return v
	}
	return (v/pageSize + 1) * pageSize
}

// ReclaimRequest returns v rounded up to a whole page: what to write to
// memory.reclaim to ask for at least v. The kernel turns the write's bytes
// into pages rounded down, so a request under a page (4 KiB on a 16 or
// 64 KiB page kernel) asks for nothing, and the write succeeds without
// reclaiming. pageSize is Features.PageSize; 0 rounds nothing.
func ReclaimRequest(v, pageSize uint64) uint64 { return PagesUp(v, pageSize) }

// RoundLimit returns the limit the kernel keeps, and reads back, when v is
// written to memory.high or memory.max: v rounded down to a page, or
// Unlimited ("max") for v = Unlimited and for any v of at least the
// kernel's largest page count (PAGE_COUNTER_MAX: LONG_MAX / PAGE_SIZE pages
// on a 64-bit kernel), to which it is clamped. pageSize is
// Features.PageSize; 0 rounds nothing.
func RoundLimit(v, pageSize uint64) uint64 {
	if v == Unlimited || pageSize == 0 {
		return v
	}
	if v/pageSize >= math.MaxInt64/pageSize {
		return Unlimited
	}
	return PagesDown(v, pageSize)
}
