//go:build e2e

package e2e

import (
	"regexp"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

func init() { register("00", gate, checkSmoke) }

// smokeResult is scenario 00's result, as the guest writes it.
type smokeResult struct {
	Kernel                  text    `json:"kernel"`
	Systemd                 text    `json:"systemd"`
	Speed                   any     `json:"speed,omitempty"`
	CgroupFS                text    `json:"cgroup_fs"`
	RootControllers         text    `json:"root_controllers"`
	HasMemoryReclaim        bool    `json:"has_memory_reclaim"`
	HasCgroupKill           bool    `json:"has_cgroup_kill"`
	HasMemoryOOMGroup       bool    `json:"has_memory_oom_group"`
	PSITrigger              text    `json:"psi_trigger"`
	CgroupKillKilled        bool    `json:"cgroup_kill_killed"`
	SystemdContainerCgroup  text    `json:"systemd_container_cgroup"`
	CgroupfsContainerCgroup text    `json:"cgroupfs_container_cgroup"`
	SystemdContainerAdj     float64 `json:"systemd_container_adj"`
	SystemdPauseAdj         float64 `json:"systemd_pause_adj"`
	CgroupfsContainerAdj    float64 `json:"cgroupfs_container_adj"`
	SystemdContainerOOMGrp  float64 `json:"systemd_container_oom_group"`
	SystemdPodMemoryMax     float64 `json:"systemd_pod_memory_max"`
	KubeOomdPresent         bool    `json:"kube_oomd_present"`
	SystemdRemoved          bool    `json:"systemd_removed"`
	CgroupfsRemoved         bool    `json:"cgroupfs_removed"`
	PageSize                float64 `json:"page_size"`
	DaemonPageSize          text    `json:"daemon_page_size"` // "none": status --json never answered
	DaemonStatusError       *text   `json:"daemon_status_error,omitempty"`
	MemoryHighWritten       float64 `json:"memory_high_written"`
	MemoryHighRead          float64 `json:"memory_high_read"`
}

func checkSmoke(t *testing.T, r *R) {
	d := decodeResult[smokeResult](r, "")
	t.Logf("kernel %s, %s; speed: %v", d.Kernel, d.Systemd, d.Speed)
	match(t, "cgroup_fs", d.CgroupFS, `^cgroup2fs$`)
	match(t, "root_controllers", d.RootControllers, `\bmemory\b`)
	isTrue(t, "has_memory_reclaim", d.HasMemoryReclaim)
	isTrue(t, "has_cgroup_kill", d.HasCgroupKill)
	isTrue(t, "has_memory_oom_group", d.HasMemoryOOMGroup)
	match(t, "psi_trigger", d.PSITrigger, `^ok$`)
	isTrue(t, "cgroup_kill_killed", d.CgroupKillKilled)
	match(t, "systemd_container_cgroup", d.SystemdContainerCgroup, `^/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]{36}\.slice/cri-containerd-[0-9a-f]{64}\.scope$`)
	match(t, "cgroupfs_container_cgroup", d.CgroupfsContainerCgroup, `^/kubepods/besteffort/pod[0-9a-f-]{36}/[0-9a-f]{64}$`)
	eq(t, "systemd_container_adj", d.SystemdContainerAdj, 500)
	eq(t, "systemd_pause_adj", d.SystemdPauseAdj, -998)
	eq(t, "cgroupfs_container_adj", d.CgroupfsContainerAdj, 1000)
	eq(t, "systemd_container_oom_group", d.SystemdContainerOOMGrp, 1)
	eq(t, "systemd_pod_memory_max", d.SystemdPodMemoryMax, 256<<20)
	isTrue(t, "kube_oomd_present", d.KubeOomdPresent)
	isTrue(t, "systemd_removed", d.SystemdRemoved)
	isTrue(t, "cgroupfs_removed", d.CgroupfsRemoved)

	// The kernel booted is the one asked for: Debian 12's 6.1 of the
	// architecture, or the flavour's (6.1.0-N-amd64, 6.12.N+deb12-arm64-16k).
	if e2eKernel == "" {
		match(t, "kernel", d.Kernel, `^6\.1\.0-[0-9]+-`+e2eArch+`$`)
	} else {
		match(t, "kernel", d.Kernel, `-`+regexp.QuoteMeta(e2eKernel)+`$`)
	}
	// The page size: the kernel's is the flavour's, kube-oomd found the same,
	// and the kernel rounds a memory.high write as kube-oomd expects it to
	// (cgroupv2.RoundLimit: down to a page), which relief.Verify relies on.
	page := kernelFlavours[e2eKernel].pageSize
	eq(t, "page_size", d.PageSize, page)
	if d.DaemonPageSize == "none" {
		t.Errorf("kube-oomd status --json never answered in the smoke: %s", need(t, "daemon_status_error", d.DaemonStatusError))
	} else {
		eq(t, "daemon_page_size", d.DaemonPageSize.num(t, "daemon_page_size"), page)
	}
	want := cgroupv2.RoundLimit(uint64(d.MemoryHighWritten), uint64(page))
	eq(t, "memory_high_read", d.MemoryHighRead, float64(want))
	t.Logf("page size %.0f B (kube-oomd: %v); memory.high written %.0f, read back %.0f (cgroupv2.RoundLimit: %d)",
		page, d.DaemonPageSize, d.MemoryHighWritten, d.MemoryHighRead, want)
}
