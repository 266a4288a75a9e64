package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/relief"
	"golang.org/x/sys/unix"
)

// Reloading the configuration: on SIGHUP (systemctl reload), at once, and
// when the file changes on disk. An invalid file keeps the configuration in
// force.

// A config file edited on disk is applied once its writer has finished:
// closed it after writing (IN_CLOSE_WRITE), or renamed it into place
// (IN_MOVED_TO). A write that is not followed by a close is never applied,
// however long the writer pauses (`cat >` typed by hand, a stalled ssh, a
// template rendered line by line): a half-written file is valid TOML more
// often than not, and its defaults may kill. fsnotify reports no close, so
// the watcher speaks inotify itself.

// configSettle is how long the config file must stay finished after an
// edit before it is reloaded: a script that writes it in several steps
// (">" then ">>") closes it after each.
const configSettle = time.Second

// msgConfigWriting is logged when a writer begins to change the file.
const msgConfigWriting = "config file is being written: it is applied once the writer closes it"

// configEvent is what the watcher saw happen to the config file.
type configEvent uint8

const (
	// configWriting: the file was created, truncated or written to, and
	// its writer has not closed it yet.
	configWriting configEvent = iota + 1
	// configWritten: a writer closed the file, or a file was renamed (or
	// made, not being a regular file) into its place.
	configWritten
)

func (e configEvent) String() string {
	switch e {
	case configWriting:
		return "writing"
	case configWritten:
		return "written"
	}
	return fmt.Sprintf("configEvent(%d)", uint8(e))
}

// settler turns the watcher's events into reloads: one, configSettle after
// the last completed write, and none while a write is unfinished. It runs
// on the daemon's clock.
type settler struct {
	clock   clock.Clock
	timer   clock.Timer
	pending bool // a completed write not applied yet
	writing bool // written to since the last completed write
}

// note takes one event; it reports whether a write began.
func (s *settler) note(ev configEvent) (began bool) {
	switch ev {
	case configWriting:
		began, s.writing = !s.writing, true
	case configWritten:
		s.pending, s.writing = true, false
		if s.timer == nil {
			s.timer = s.clock.NewTimer(configSettle)
		} else {
			s.timer.Reset(configSettle)
		}
	}
	return began
}

// C fires configSettle after the last completed write; never before one.
func (s *settler) C() <-chan time.Time {
	if s.timer == nil {
		return nil
	}
	return s.timer.C()
}

// due, once C fired, says whether to reload: a completed write is waiting,
// and no other write has begun since. A write that has begun waits for its
// own close, which starts the wait again.
func (s *settler) due() bool {
	if !s.pending || s.writing {
		return false
	}
	s.pending = false
	return true
}

// configWatchMask is what the watcher asks inotify for, on the config
// file's directory (editors and `install` replace the file rather than
// write it).
const configWatchMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_MODIFY | unix.IN_ONLYDIR

// watchConfig watches the config file's directory and says what happens
// to the file. It returns a nil channel when the directory does not exist.
// The channel is never closed; the watcher stops with ctx.
func watchConfig(ctx context.Context, path string) (<-chan configEvent, error) {
	dir, name := filepath.Split(filepath.Clean(path))
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch %s: inotify: %w", path, err)
	}
	// Non-blocking, the file is read through Go's poller, so that Close
	// ends a Read in progress.
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := unix.InotifyAddWatch(fd, filepath.Clean(dir), configWatchMask); err != nil {
		f.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	out := make(chan configEvent)
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return // closed with ctx; nothing else fails on an inotify fd
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				raw := buf[off+unix.SizeofInotifyEvent : min(n, off+unix.SizeofInotifyEvent+int(ev.Len))]
				off += unix.SizeofInotifyEvent + int(ev.Len)
				e, ok := configEventOf(ev.Mask, strings.TrimRight(string(raw), "\x00"), name, dir)
				if !ok {
					continue
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// configEventOf says what one inotify event in dir means for the config
// file called name, if anything.
func configEventOf(mask uint32, evName, name, dir string) (configEvent, bool) {
	switch {
	case mask&unix.IN_Q_OVERFLOW != 0:
		// Events were lost: whatever they were, the file may have been
		// finished meanwhile. Reload (a write still open makes the next
		// event configWriting, and its close a reload again).
		return configWritten, true
	case evName != name:
		return 0, false
	case mask&(unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO) != 0:
		return configWritten, true
	case mask&unix.IN_CREATE != 0:
		// A regular file is being written; a symlink, a FIFO, a directory
		// made there is done (and a reload says what is wrong with it).
		if fi, err := os.Lstat(filepath.Join(dir, name)); err == nil && !fi.Mode().IsRegular() {
			return configWritten, true
		}
		return configWriting, true
	case mask&unix.IN_MODIFY != 0:
		return configWriting, true
	}
	return 0, false
}

// reload loads the config file again and applies it, whole or not at all.
// What it cannot apply at run time ([cgroup], [runtime], [metrics]) waits
// for a restart, and says so.
func (d *Daemon) reload() {
	d.notify.Reloading()
	defer d.notify.Ready()
	failed := false // each "config reload failed" sets it, for kube_oomd_config_last_reload_successful
	defer func() { d.metrics.ConfigReloaded(!failed, d.clock.Now()) }()
	path := d.opt.ConfigPath
	data, err := config.Read(path) // never blocks: a FIFO there is an error
	if errors.Is(err, fs.ErrNotExist) && d.defaulted {
		return // still no file: still the defaults
	}
	var cfg config.Config
	if err == nil {
		cfg, err = config.Parse(path, data)
	}
	if err == nil && !d.defaulted && emptyFile(data) {
		err = fmt.Errorf("%s is empty: an empty file would mean every default (and kill.mode %q); "+
			"write the keys you want, or delete the file to run on the defaults and restart", path, config.ModePod)
	}
	if err != nil {
		d.log.Error("config reload failed: keeping the configuration in force", attrConfig, path, attrError, err)
		failed = true
		return
	}
	if d.opt.DryRunFlag {
		cfg.Kill.Mode = config.ModeDryRun
	}
	if cfg.Cgroup != d.cfg.Cgroup {
		d.log.Warn("changes to [cgroup] take effect after a restart", attrConfig, path)
		cfg.Cgroup = d.cfg.Cgroup
	}
	if cfg.Runtime != d.cfg.Runtime {
		d.log.Warn("changes to [runtime] take effect after a restart", attrConfig, path)
		cfg.Runtime = d.cfg.Runtime
	}
	if cfg.Metrics != d.cfg.Metrics {
		// As [cgroup]: a listener moved at run time could fail half-way,
		// and a reload never fails the daemon.
		d.log.Warn("changes to [metrics] take effect after a restart", attrConfig, path, attrListen, d.cfg.Metrics.Listen)
		cfg.Metrics = d.cfg.Metrics
	}
	if reflect.DeepEqual(cfg, d.cfg) {
		d.log.Info("config reloaded: nothing changed", attrConfig, path)
		return
	}
	log, format := d.log, d.logFormat
	if cfg.Log != d.cfg.Log && d.opt.Logger == nil {
		if log, format, err = NewLogger(cfg.Log, d.opt.Stderr); err != nil {
			d.log.Error("config reload failed: keeping the configuration in force", attrConfig, path, attrError, err)
			failed = true
			return
		}
	}
	if d.triggers != nil { // nil while waiting for the kubelet's cgroup
		if err := d.applyTriggers(cfg); err != nil {
			d.log.Error("config reload failed: cannot register the new PSI triggers; keeping the configuration in force", attrConfig, path, attrError, err)
			failed = true
			return
		}
	}
	d.cfg, d.defaulted, d.log, d.logFormat = cfg, false, log, format
	if d.actions != nil && (!ladderOn(cfg) || cfg.Kill.Mode == config.ModeDryRun) {
		d.liftAll(relief.LiftReliefOff) // nothing may stay throttled by a ladder that is off
	}
	d.log.Info("config reloaded", attrConfig, path, attrMode, d.cfg.Kill.Mode, attrSettings, d.cfg)
	if d.actions != nil {
		d.setStatus()
	}
}

// emptyFile says whether a file's text is nothing but blanks and comments.
func emptyFile(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// applyTriggers registers the PSI triggers cfg asks for, replacing those in
// force only once all are open, and sets the thresholds to match.
func (d *Daemon) applyTriggers(cfg config.Config) error {
	files := map[string]string{triggerKubepods: filepath.Join(d.layout.Abs(d.layout.Kubepods), "memory.pressure")}
	if cfg.Pressure.WatchHost {
		files[triggerHost] = filepath.Join(d.opt.ProcRoot, "pressure", "memory")
	}
	adjusted, err := d.triggers.apply(triggerSpec(cfg), files)
	if err != nil {
		return err
	}
	for _, t := range adjusted {
		d.log.Warn("PSI trigger window adjusted: without CAP_SYS_RESOURCE the kernel only takes multiples of 2s",
			attrFile, t.Path, "requested", t.Requested.String(), "in_force", t.Spec.String())
	}
	d.th = thresholds(cfg, d.triggers.inForce(), d.memTotal, d.features)
	return nil
}
