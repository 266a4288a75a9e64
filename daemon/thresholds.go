package daemon

import (
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
)

// ladder is the relief ladder the config asks for.
func ladder(cfg config.Config) policy.Ladder {
	return policy.Ladder{Reclaim: cfg.Relief.Reclaim, Throttle: cfg.Relief.Throttle}
}

// dryRun says whether the config asks for kill.mode dry-run.
func dryRun(cfg config.Config) bool { return cfg.Kill.Mode == config.ModeDryRun }

// triggerSpec is the kubepods (and host) trigger the config asks for
// (policy.Trigger).
func triggerSpec(cfg config.Config) psi.TriggerSpec {
	return policy.Trigger(psi.Kind(cfg.Pressure.Kind), cfg.Pressure.Window, cfg.Pressure.Stall, cfg.Relief.Stall, ladder(cfg))
}

// rankConfig is what ranking takes from the config and the node's memory.
func rankConfig(cfg config.Config, memTotal uint64) policy.RankConfig {
	return policy.RankConfig{MemTotal: memTotal, MinVictim: cfg.Memory.MinVictim, Protect: cfg.Kill.Protect}
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
		Rank:      rankConfig(cfg, memTotal),
		DryRun:    dryRun(cfg),
		Rescan:    cfg.Cgroup.RescanInterval,
	}
	if ladder(cfg).On() {
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
