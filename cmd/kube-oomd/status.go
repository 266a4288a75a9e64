package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/kube-oomd/kube-oomd/daemon"
)

// `kube-oomd status` asks the running daemon, over a root-only unix socket
// in /run/kube-oomd, what it knows: like `oomctl dump`, with the pods. The
// daemon package serves it; this file asks and renders.

// ErrNotRunning says there is no daemon to ask.
var errNotRunning = errors.New("kube-oomd is not running")

// statusHelp is what `kube-oomd status --help` says.
const statusHelp = `Asks the running daemon, over its root-only socket, what it sees and did:
its config, the node's features, the PSI triggers, the decision, the pods
ranked (as kube-oomd pods shows them), the throttles and the last kills.
Run it as root. Sizes are shown as kubectl shows them (448Mi, 1.5Gi);
--json prints the daemon's answer as it is, with sizes in bytes.
Exit status 1 when the daemon cannot be asked (not running, or not root).`

// statusCmd is `kube-oomd status`.
func (e *env) statusCmd(args []string) error {
	fs := e.flags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	socket := fs.String("socket", daemon.DefaultSocket, "`PATH` of the daemon's status socket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("status takes no arguments, got %q", fs.Args())}
	}
	conn, err := net.DialTimeout("unix", *socket, 5*time.Second)
	if err != nil {
		return dialError(*socket, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("read %s: %w", *socket, err)
	}
	var s daemon.Status
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("the daemon's answer on %s is not status JSON: %w", *socket, err)
	}
	if *asJSON {
		_, err := e.stdout.Write(b)
		return err
	}
	return renderStatus(e.stdout, s)
}

// dialError says why the daemon could not be asked on socket. Without
// permission (not root: /run/kube-oomd is 0700, the socket 0600) it may
// well be running.
func dialError(socket string, err error) error {
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("cannot ask the daemon on %s: %w; only root may: run it as root (sudo kube-oomd status), or see the pods without it with `kube-oomd pods`",
			socket, errors.Unwrap(err))
	}
	return fmt.Errorf("%w (no answer on %s: %v); start it with `systemctl start kube-oomd`, or see the pods without it with `kube-oomd pods`",
		errNotRunning, socket, errors.Unwrap(err))
}

// writeKeySources prints, under the Config line, the files read and where
// each key not at its default came from.
func writeKeySources(w io.Writer, s daemon.Status) {
	if len(s.ConfigFiles) > 0 {
		files := make([]string, len(s.ConfigFiles))
		for i, f := range s.ConfigFiles {
			files[i] = escaped(f)
		}
		fmt.Fprintf(w, "          read %s\n", strings.Join(files, ", "))
	}
	for _, k := range s.ConfigSources {
		from := "kept from the start: a change waits for a restart"
		if k.File != "" {
			from = "from " + escaped(k.File)
		}
		fmt.Fprintf(w, "          %s (%s)\n", escaped(k.Setting), from)
	}
}

// renderStatus prints the status for a person.
func renderStatus(w io.Writer, s daemon.Status) error {
	cfg := s.ConfigFile
	if s.Defaults {
		cfg += " (not found: built-in defaults)"
	}
	kill, _ := s.Config["kill"].(map[string]any)
	fmt.Fprintf(w, "kube-oomd %s, pid %d, running since %s (%s)\n", s.Version, s.PID,
		s.Started.Format(time.RFC3339), time.Since(s.Started).Round(time.Second))
	fmt.Fprintf(w, "Config:   %s, mode %v\n", escaped(cfg), kill["mode"])
	writeKeySources(w, s)
	f := s.Features
	fmt.Fprintf(w, "Node:     kernel %s (page %s), %s driver, pods under %s, cgroup.kill %s, memory.reclaim %s, memory.high via %s\n",
		f.Kernel, humanSize(f.PageSize), f.Driver, f.Kubepods, yesNo(f.CgroupKill), yesNo(f.MemoryReclaim), f.MemoryHighVia)

	fmt.Fprintln(w, "\nTriggers:")
	for _, t := range s.Triggers {
		last := "never"
		if t.LastEvent != nil {
			last = time.Since(*t.LastEvent).Round(time.Second).String() + " ago"
		}
		adj := ""
		if t.InForce != t.Requested {
			adj = fmt.Sprintf(" (asked %q)", t.Requested)
		}
		fmt.Fprintf(w, "  %-9s %q on %s%s: %d events, last %s\n", t.Key, t.InForce, t.File, adj, t.Events, last)
	}
	if a := s.Action; a != nil {
		fmt.Fprintf(w, "\nAction in flight: %s, for %s\n", escaped(a.Name), time.Since(a.Since).Round(time.Millisecond))
	}
	dc := s.Decision
	fmt.Fprintf(w, "\nDecision: %d of %d pressured windows, %d strained, %d calm, %d calm or not near the limit (throttles release after relief.release_after of these); last window's stall %.1f%%; memory near the limit: %s",
		dc.PressuredWindows, dc.WindowsNeeded, dc.StrainedWindows, dc.CalmWindows, dc.RelievedWindows, dc.StallShare*100, yesNo(dc.NearLimit))
	if dc.Limit > 0 {
		fmt.Fprintf(w, " (%s of %s)", humanSize(dc.Usage), humanSize(dc.Limit))
	}
	if dc.Cooling {
		fmt.Fprint(w, "; cooling down after a kill")
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nPods, ranked (1 = next victim):")
	if s.PodsError != "" {
		fmt.Fprintln(w, "  cannot read the pods:", escaped(s.PodsError))
	}
	if err := writePodTable(w, s.Pods, "  "); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nThrottles:")
	if len(s.Throttles) == 0 {
		fmt.Fprintln(w, "  none")
	}
	named := map[string]string{} // UID: namespace/name, from the pods' rows
	for _, p := range s.Pods {
		if p.Name != "" {
			named[p.UID] = shown(p.Namespace + "/" + p.Name)
		}
	}
	for _, t := range s.Throttles {
		who := shown(t.UID)
		if n, ok := named[t.UID]; ok {
			who = n + " (" + shown(t.UID) + ")"
		}
		what := "memory.high"
		if t.Contained {
			what = "contained (its growing processes spare themselves from a kill): memory.high"
		}
		fmt.Fprintf(w, "  %s %s: %s %s (set %s, original %s) for %s, %s\n", t.QoS, who, what,
			humanSize(t.Current), humanSize(t.Set), limitSize(t.Original),
			time.Since(t.Since).Round(time.Second), shown(t.Cgroup))
	}

	fmt.Fprintln(w, "\nLast kills:")
	if len(s.Kills) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, k := range s.Kills {
		what := "killed"
		if k.DryRun {
			what = "would have killed (dry run)"
		}
		who := shown(k.UID)
		if k.Name != "" {
			who = shown(k.Who()) + " (" + shown(k.UID) + ")"
		}
		target := escaped(k.Target)
		if k.Container != "" {
			target = fmt.Sprintf("container %q, %s", k.Container, escaped(strings.TrimPrefix(k.Target, "container ")))
		}
		fmt.Fprintf(w, "  %s %s %s %s (%s), reason %s, freed %s, %s\n", k.Time.Format(time.RFC3339), what, k.QoS, who,
			target, shown(k.Reason), humanSize(k.FreedBytes), shown(k.Cgroup))
	}
	return nil
}

// limitSize is a cgroup limit as shown: max, or its size.
func limitSize(v uint64) string {
	if v == daemon.Unlimited {
		return "max"
	}
	return humanSize(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
