package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/policy"
)

// podJSON is one pod in `kube-oomd pods --json`.
type podJSON struct {
	Rank            int          `json:"rank"` // 1 = next victim; 0 = protected
	UID             string       `json:"uid"`
	QoS             cgroupv2.QoS `json:"qos"`
	Cgroup          string       `json:"cgroup"`
	WorkingSetBytes uint64       `json:"working_set_bytes"`
	CurrentBytes    uint64       `json:"current_bytes"`
	RequestBytes    uint64       `json:"request_bytes"`
	RequestSource   string       `json:"request_source"`
	LimitBytes      *uint64      `json:"limit_bytes"` // null: no limit
	PSISomeAvg10    float64      `json:"psi_some_avg10"`
	PSIFullAvg10    float64      `json:"psi_full_avg10"`
	Protected       bool         `json:"protected"`
	ProtectedReason string       `json:"protected_reason,omitempty"`
	TooSmall        bool         `json:"too_small"`
	Containers      int          `json:"containers"`
}

// pods is `kube-oomd pods`: one scan of the live tree, ranked as the daemon
// would rank it now.
func (e *env) pods(args []string) error {
	fs := e.flags("pods")
	asJSON := fs.Bool("json", false, "print JSON")
	cfgPath := fs.String("config", "", "config file for kill.protect and memory.min_victim (default "+config.DefaultPath+" if present)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("pods takes no arguments, got %q", fs.Args())}
	}
	cfg, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := cgroupv2.CheckMemoryController(e.cgroupRoot); err != nil {
		return err
	}
	layout, err := cgroupv2.DetectLayout(e.cgroupRoot, cfg.Cgroup.Kubepods, cgroupv2.Driver(cfg.Cgroup.Driver))
	if err != nil {
		return err
	}
	snap, err := cgroupv2.NewReader(layout, e.procRoot).Scan()
	if err != nil {
		return err
	}
	ranked := policy.Rank(snap.Pods, policy.RankConfig{
		MemTotal: snap.Host.MemTotal, MinVictim: cfg.Memory.MinVictim, Protect: cfg.Kill.Protect,
	})
	out := podRows(ranked)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writePodTable(e.stdout, out, "")
}

// podRows turns a ranking into the rows that pods and status print.
func podRows(ranked []policy.Candidate) []podJSON {
	out := make([]podJSON, len(ranked))
	for i, c := range ranked {
		p := podJSON{
			Rank: c.Rank, UID: c.Pod.UID, QoS: c.Pod.QoS, Cgroup: c.Pod.Path,
			WorkingSetBytes: c.Pod.WorkingSet, CurrentBytes: c.Pod.Current,
			RequestBytes: c.Request, RequestSource: string(c.RequestSource),
			PSISomeAvg10: c.Pod.Pressure.Some.Avg10, PSIFullAvg10: c.Pod.Pressure.Full.Avg10,
			Protected: c.Protected != "", ProtectedReason: c.Protected, TooSmall: c.Small,
			Containers: len(c.Pod.Containers),
		}
		if c.Pod.Max != cgroupv2.Unlimited {
			limit := c.Pod.Max
			p.LimitBytes = &limit
		}
		out[i] = p
	}
	return out
}

// writePodTable prints pod rows as a table, each line after prefix.
func writePodTable(w io.Writer, rows []podJSON, prefix string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, prefix+"RANK\tUID\tQOS\tWORKING SET\tREQUEST\tLIMIT\tSOME10\tFULL10\tPROTECTED\tCGROUP")
	for _, p := range rows {
		rank, limit, prot := fmt.Sprint(p.Rank), "none", "no"
		if p.Rank == 0 {
			rank = "-"
		}
		if p.LimitBytes != nil {
			limit = config.FormatSize(*p.LimitBytes)
		}
		if p.Protected {
			prot = "yes: " + p.ProtectedReason
		} else if p.TooSmall {
			prot = "no (too small)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%s\t%s\n", prefix, rank, p.UID, p.QoS,
			config.FormatSize(p.WorkingSetBytes), config.FormatSize(p.RequestBytes), limit,
			p.PSISomeAvg10, p.PSIFullAvg10, prot, p.Cgroup)
	}
	return tw.Flush()
}
