package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/daemon"
)

// podsHelp is what `kube-oomd pods --help` says.
const podsHelp = `Scans the live cgroup tree once and prints the pods ranked as victims, as
the daemon would rank them now (rank 1 is the next victim, - protected).
It asks the container runtime (runtime.endpoint) once, within
runtime.timeout, for the pods' namespaces and names; without an answer it
names them by UID and says why on stderr. Sizes are shown as kubectl
shows them (448Mi, 1.5Gi); --json gives them in bytes.
A pod that cannot be read (a file missing or malformed) is left out, as
the daemon leaves it out, and named after the others on stderr, one line
per pod with the file and what is wrong. Exit status 0 when at least one
pod could be read (or there is none), 1 when no pod could be read.`

// pods is `kube-oomd pods`: one scan of the live tree, ranked as the daemon
// would rank it now. A pod that cannot be read is left out of the ranking,
// as the daemon leaves it out, and named on stderr after the pods it could
// read; the command fails only when it could read no pod at all.
func (e *env) pods(args []string) error {
	fs := e.flags("pods")
	asJSON := fs.Bool("json", false, "print JSON")
	cfgPath := fs.String("config", "", "config `FILE` for kill.protect, memory.min_victim and [runtime] (default "+config.DefaultPath+" if present)")
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
	now, err := daemon.ScanPods(context.Background(), e.cgroupRoot, e.procRoot, cfg)
	if err != nil {
		e.printUnread(now.Unread)
		return err
	}
	if now.Runtime != nil {
		fmt.Fprintf(e.stderr, "kube-oomd: pods are named by UID only: cannot ask the %v (set runtime.endpoint in the config)\n", now.Runtime)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(now.Rows)
	} else {
		err = writePodTable(e.stdout, now.Rows, "")
	}
	e.printUnread(now.Unread)
	return err
}

// printUnread names on stderr, one line each, the pods that could not be
// read, with the file and what was wrong.
func (e *env) printUnread(unread []daemon.UnreadPod) {
	for _, pe := range unread {
		fmt.Fprintf(e.stderr, "kube-oomd: pod %s (%s) left out, cannot read it: %v\n", pe.UID, pe.QoS, pe.Err)
	}
}

// writePodTable prints pod rows as a table, each line after prefix.
func writePodTable(w io.Writer, rows []daemon.PodRow, prefix string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, prefix+"RANK\tNAMESPACE\tNAME\tUID\tQOS\tWORKING SET\tREQUEST\tLIMIT\tSOME10\tFULL10\tPROTECTED\tCGROUP")
	for _, p := range rows {
		rank, limit, prot := fmt.Sprint(p.Rank), "none", "no"
		if p.Rank == 0 {
			rank = "-"
		}
		if p.LimitBytes != nil {
			limit = humanSize(*p.LimitBytes)
		}
		switch {
		case p.Protected:
			prot = "yes: " + escaped(p.ProtectedReason)
		case len(p.SparedPIDs) > 0:
			prot = fmt.Sprintf("pids %v (oom_score_adj -1000, sandbox)", p.SparedPIDs)
		case !p.CanEnd:
			prot = "no (too small)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%s\t%s\n", prefix, rank, orDash(p.Namespace), orDash(p.Name), shown(p.UID), p.QoS,
			humanSize(p.WorkingSetBytes), humanSize(p.RequestBytes), limit,
			p.PSISomeAvg10, p.PSIFullAvg10, prot, shown(p.Cgroup))
	}
	return tw.Flush()
}

// humanSize is n bytes as kubectl shows a quantity: in the largest binary
// unit it reaches, with at most one decimal (800Ki, 448Mi, 1.5Gi); under
// 1Ki, the bytes. Every size in the text tables is shown so; --json keeps
// the exact bytes.
func humanSize(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10)
	}
	const units = "KMGTPE"
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	r := math.Round(f*10) / 10
	if r >= 1024 && i < len(units)-1 { // 1023.96Ki is 1Mi, not 1024Ki
		i++
		r = math.Round(f/1024*10) / 10
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + units[i:i+1] + "i"
}

// orDash is s as shown, or "-" for a name the runtime did not give.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return shown(s)
}

// Text from outside (the names the container runtime gives, and what the
// daemon made of them) is printed for a terminal quoted as Go quotes
// strings when it has a character that is not printable, so that a
// newline, a tab or an escape code cannot reach the terminal raw or add a
// line. --json prints the exact values.

// shown is a name, one column or word: as it is when it is printable and
// has no space or quote, else quoted.
func shown(s string) string {
	if printable(s) && !strings.ContainsAny(s, ` "`) {
		return s
	}
	return strconv.Quote(s)
}

// escaped is a phrase (a reason, an error, an action): as it is when it
// is printable, else quoted.
func escaped(s string) string {
	if printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// printable tells whether s is UTF-8 of printable characters only
// (strconv.IsPrint: no control character, no space but the ASCII one).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}
