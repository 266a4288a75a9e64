//go:build e2e

package e2e

import (
	"regexp"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

func init() { register("00", gate, checkSmoke) }

func checkSmoke(t *testing.T, r *R) {
	t.Logf("kernel %s, %s; speed: %v", r.str("kernel"), r.str("systemd"), r.get("speed"))
	r.match("cgroup_fs", `^cgroup2fs$`)
	r.match("root_controllers", `\bmemory\b`)
	r.isTrue("has_memory_reclaim")
	r.isTrue("has_cgroup_kill")
	r.isTrue("has_memory_oom_group")
	r.match("psi_trigger", `^ok$`)
	r.isTrue("cgroup_kill_killed")
	r.match("systemd_container_cgroup", `^/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]{36}\.slice/cri-containerd-[0-9a-f]{64}\.scope$`)
	r.match("cgroupfs_container_cgroup", `^/kubepods/besteffort/pod[0-9a-f-]{36}/[0-9a-f]{64}$`)
	r.eq("systemd_container_adj", 500)
	r.eq("systemd_pause_adj", -998)
	r.eq("cgroupfs_container_adj", 1000)
	r.eq("systemd_container_oom_group", 1)
	r.eq("systemd_pod_memory_max", 256<<20)
	r.isTrue("kube_oomd_present")
	r.isTrue("systemd_removed")
	r.isTrue("cgroupfs_removed")

	// The kernel booted is the one asked for: Debian 12's 6.1 of the
	// architecture, or the flavour's (6.1.0-N-amd64, 6.12.N+deb12-arm64-16k).
	if e2eKernel == "" {
		r.match("kernel", `^6\.1\.0-[0-9]+-`+e2eArch+`$`)
	} else {
		r.match("kernel", `-`+regexp.QuoteMeta(e2eKernel)+`$`)
	}
	// The page size: the kernel's is the flavour's, kube-oomd found the same,
	// and the kernel rounds a memory.high write as kube-oomd expects it to
	// (cgroupv2.RoundLimit: down to a page), which relief.Verify relies on.
	page := kernelFlavours[e2eKernel].pageSize
	r.eq("page_size", page)
	if r.str("daemon_page_size") == "none" {
		t.Errorf("kube-oomd status --json never answered in the smoke: %s", r.str("daemon_status_error"))
	} else {
		r.eq("daemon_page_size", page)
	}
	written := r.num("memory_high_written")
	want := cgroupv2.RoundLimit(uint64(written), uint64(page))
	r.eq("memory_high_read", float64(want))
	t.Logf("page size %.0f B (kube-oomd: %v); memory.high written %.0f, read back %.0f (cgroupv2.RoundLimit: %d)",
		page, r.get("daemon_page_size"), written, r.num("memory_high_read"), want)
}
