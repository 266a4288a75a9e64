package daemon

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/psi"
)

// The kernel turns a memory.reclaim write into whole pages, rounded down:
// on a 16 or 64 KiB page kernel (arm64) a 4 KiB chunk, valid in the config,
// would reclaim nothing and succeed. Chunk and budget go to whole pages, up.
func TestThresholdsReclaimInWholePages(t *testing.T) {
	for _, c := range []struct {
		name               string
		chunk, max         uint64
		page               uint64
		wantChunk, wantMax uint64
	}{
		{"defaults, 4 KiB pages", 32 << 20, 256 << 20, 4 << 10, 32 << 20, 256 << 20},
		{"defaults, 64 KiB pages", 32 << 20, 256 << 20, 64 << 10, 32 << 20, 256 << 20},
		{"one 4 KiB page, 4 KiB pages", 4 << 10, 4 << 10, 4 << 10, 4 << 10, 4 << 10},
		{"4 KiB on 16 KiB pages", 4 << 10, 1 << 20, 16 << 10, 16 << 10, 1 << 20},
		{"4 KiB chunk and budget on 64 KiB pages", 4 << 10, 4 << 10, 64 << 10, 64 << 10, 64 << 10},
		{"100 KiB on 16 KiB pages", 100 << 10, 1000 << 10, 16 << 10, 112 << 10, 1008 << 10},
		{"page size unknown", 5000, 7000, 0, 5000, 7000},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Relief.Reclaim = true
			cfg.Relief.ReclaimChunk, cfg.Relief.ReclaimMax = c.chunk, c.max
			spec := psi.TriggerSpec{Kind: psi.Kind(cfg.Pressure.Kind), Stall: cfg.Relief.Stall, Window: cfg.Pressure.Window}
			th := thresholds(cfg, spec, 8<<30, cgroupv2.Features{PageSize: c.page, MemoryReclaim: true})
			if th.ReclaimChunk != c.wantChunk || th.ReclaimMax != c.wantMax {
				t.Errorf("page %d: chunk %d, max %d -> %d, %d; want %d, %d", c.page, c.chunk, c.max,
					th.ReclaimChunk, th.ReclaimMax, c.wantChunk, c.wantMax)
			}
			if th.PageSize != c.page {
				t.Errorf("PageSize = %d, want %d", th.PageSize, c.page)
			}
		})
	}
}
