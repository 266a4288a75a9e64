package daemon

import (
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
)

// ladderOn tells whether any relief step is configured.
func ladderOn(cfg config.Config) bool { return cfg.Relief.Reclaim || cfg.Relief.Throttle }

// triggerSpec is the kubepods (and host) trigger the config asks for. With
// the relief ladder on it fires at the lower relief stall; the kill level is
// then measured from the stall totals.
func triggerSpec(cfg config.Config) psi.TriggerSpec {
	stall := cfg.Pressure.Stall
	if ladderOn(cfg) {
		stall = cfg.Relief.Stall
	}
	return psi.TriggerSpec{Kind: psi.Kind(cfg.Pressure.Kind), Stall: stall, Window: cfg.Pressure.Window}
}

// thresholds assembles everything policy needs from the config, the trigger
// in force, the node's memory and the kernel's features: the one place
// where config becomes policy. When the kernel made the trigger window
// longer, the stalls scale with it.
func thresholds(cfg config.Config, inForce psi.TriggerSpec, memTotal uint64, f cgroupv2.Features) policy.Thresholds {
	scale := func(x time.Duration) time.Duration {
		return time.Duration(float64(x) * float64(inForce.Window) / float64(cfg.Pressure.Window))
	}
	th := policy.Thresholds{
		Kind: inForce.Kind, Stall: scale(cfg.Pressure.Stall), Window: inForce.Window, Windows: cfg.Pressure.Windows,
		TriggerStall: inForce.Stall,
		NearLimit:    cfg.Memory.NearLimit, HostFloor: cfg.Memory.HostAvailableFloor.Of(memTotal),
		OnImminentOOM: cfg.Kill.OnImminentOOM, Cooldown: cfg.Kill.Cooldown,
		Container: cfg.Kill.Mode == config.ModeContainer,
		PageSize:  f.PageSize,
		Rank:      policy.RankConfig{MemTotal: memTotal, MinVictim: cfg.Memory.MinVictim, Protect: cfg.Kill.Protect},
	}
	if ladderOn(cfg) {
		th.ReliefStall = scale(cfg.Relief.Stall)
		th.Reclaim, th.Throttle = cfg.Relief.Reclaim && f.MemoryReclaim, cfg.Relief.Throttle
		th.ThrottleAfter, th.ReleaseAfter = cfg.Relief.ThrottleAfter, cfg.Relief.ReleaseAfter
		// In whole pages (a 4 KiB chunk is a quarter page on a 16 KiB
		// arm64 kernel): see cgroupv2.ReclaimRequest.
		th.ReclaimChunk = cgroupv2.ReclaimRequest(cfg.Relief.ReclaimChunk, f.PageSize)
		th.ReclaimMax = max(cgroupv2.ReclaimRequest(cfg.Relief.ReclaimMax, f.PageSize), th.ReclaimChunk)
		th.ThrottleBelow, th.ReleaseStep = cfg.Relief.ThrottleBelow, cfg.Relief.ReleaseStep
	}
	return th
}
