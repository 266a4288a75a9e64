package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/relief"
	"golang.org/x/sys/unix"
)

// Reloading the configuration: on SIGHUP (systemctl reload), at once, and
// when the file or a fragment of its drop-in directory changes on disk (a
// fragment added, removed, renamed in or away; the directory made). The
// file and its fragments are applied together, whole or not at all: an
// invalid one keeps the configuration in force.

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
	// configRemoved: a fragment, or the drop-in directory, was removed or
	// renamed away: a finished change.
	configRemoved
	// configDropped: the config file itself was removed or renamed away:
	// no change by itself (the next file put there is).
	configDropped
	// configOverflow: inotify lost events; whatever they were, a write may
	// have finished meanwhile.
	configOverflow
)

// configChange is one thing the watcher saw.
type configChange struct {
	kind configEvent
	file string // the file, or the drop-in directory, it is about; "" for an overflow
	err  error  // the drop-in directory was made but cannot be watched
}

func (e configEvent) String() string {
	switch e {
	case configWriting:
		return "writing"
	case configWritten:
		return "written"
	case configRemoved:
		return "removed"
	case configDropped:
		return "dropped"
	case configOverflow:
		return "overflow"
	}
	return fmt.Sprintf("configEvent(%d)", uint8(e))
}

// settler turns the watcher's events into reloads: one, configSettle after
// the last completed change, and none while any file's write is
// unfinished. Each file's write is its own: another file's change, or lost
// events, do not finish it. It runs on the daemon's clock.
type settler struct {
	clock   clock.Clock
	timer   clock.Timer
	pending bool            // a completed change not applied yet
	writing map[string]bool // the files written to since their last completed write
}

// note takes one event; it reports whether a write began.
func (s *settler) note(ev configChange) (began bool) {
	switch ev.kind {
	case configWriting:
		if s.writing == nil {
			s.writing = map[string]bool{}
		}
		began = !s.writing[ev.file]
		s.writing[ev.file] = true
		return began
	case configWritten:
		delete(s.writing, ev.file)
	case configRemoved, configDropped:
		// The file, or the directory and every file in it, is gone: its
		// write is never finished.
		for f := range s.writing {
			if f == ev.file || strings.HasPrefix(f, ev.file+string(filepath.Separator)) {
				delete(s.writing, f)
			}
		}
		if ev.kind == configDropped {
			if s.pending {
				s.wait() // what waited on the file being written
			}
			return false
		}
	case configOverflow:
		// Whatever was lost, a write begun and not seen finished is still
		// unfinished as far as anyone knows: its close (or a later
		// write's) says.
	}
	s.pending = true
	s.wait()
	return false
}

// wait starts the settle wait again.
func (s *settler) wait() {
	if s.timer == nil {
		s.timer = s.clock.NewTimer(configSettle)
	} else {
		s.timer.Reset(configSettle)
	}
}

// C fires configSettle after the last completed change; never before one.
func (s *settler) C() <-chan time.Time {
	if s.timer == nil {
		return nil
	}
	return s.timer.C()
}

// due, once C fired, says whether to reload: a completed change is
// waiting, and no write is unfinished. A write unfinished waits for its own
// close, which starts the wait again.
func (s *settler) due() bool {
	if !s.pending || len(s.writing) > 0 {
		return false
	}
	s.pending = false
	return true
}

// configWatchMask is what the watcher asks inotify for, on the config
// file's directory (editors and `install` replace the file rather than
// write it). IN_DELETE and IN_MOVED_FROM are for the drop-in directory,
// made or removed there; the config file's own removal is no edit.
const configWatchMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_ONLYDIR

// dropinWatchMask is what the watcher asks for on the drop-in directory:
// as for the file, and a fragment removed or renamed away is a finished
// change too, as is the directory itself going.
const dropinWatchMask = configWatchMask | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// configWatch is the inotify instance that follows the config file and
// its drop-in directory.
type configWatch struct {
	fd        int
	dir, name string // the config file's directory and name
	dropin    string // its drop-in directory
	dirWD     int
	dropinWD  int // -1 while the drop-in directory is not watched
}

// watchConfig watches the config file's directory and its drop-in
// directory, and says what happens to the file and to the fragments. It
// returns a nil channel when the file's directory does not exist. A
// drop-in directory that does not exist yet is watched once it is made
// (dropin is false until then). The channel is never closed; the watcher
// stops with ctx.
func watchConfig(ctx context.Context, path string) (_ <-chan configChange, dropin bool, _ error) {
	dir, name := filepath.Split(filepath.Clean(path))
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, false, fmt.Errorf("watch %s: inotify: %w", path, err)
	}
	// Non-blocking, the file is read through Go's poller, so that Close
	// ends a Read in progress.
	f := os.NewFile(uintptr(fd), "inotify")
	w := &configWatch{fd: fd, dir: filepath.Clean(dir), name: name, dropin: config.DropinDir(path), dropinWD: -1}
	if w.dirWD, err = unix.InotifyAddWatch(fd, w.dir, configWatchMask); err != nil {
		f.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("watch %s: %w", dir, err)
	}
	if err := w.watchDropin(); err != nil && !errors.Is(err, unix.ENOENT) {
		f.Close()
		return nil, false, fmt.Errorf("watch %s: %w", w.dropin, err)
	}
	dropin = w.dropinWD >= 0
	out := make(chan configChange)
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
				e, ok := w.event(int(ev.Wd), ev.Mask, strings.TrimRight(string(raw), "\x00"))
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
	return out, dropin, nil
}

// watchDropin starts watching the drop-in directory, the one now at its
// path: the watch of another one, renamed away, is dropped.
func (w *configWatch) watchDropin() error {
	wd, err := unix.InotifyAddWatch(w.fd, w.dropin, dropinWatchMask)
	if err != nil {
		return err
	}
	if w.dropinWD >= 0 && w.dropinWD != wd {
		w.unwatchDropin()
	}
	w.dropinWD = wd
	return nil
}

// unwatchDropin stops watching the drop-in directory.
func (w *configWatch) unwatchDropin() {
	if w.dropinWD >= 0 {
		_, _ = unix.InotifyRmWatch(w.fd, uint32(w.dropinWD)) // EINVAL: the kernel dropped it already
		w.dropinWD = -1
	}
}

// event says what one inotify event means for the config, if anything.
func (w *configWatch) event(wd int, mask uint32, name string) (configChange, bool) {
	switch {
	case mask&unix.IN_Q_OVERFLOW != 0:
		// Events were lost: whatever they were, the file may have been
		// finished meanwhile. Reload (a write still open makes the next
		// event configWriting, and its close a reload again).
		return configChange{kind: configOverflow}, true
	case wd == w.dirWD && name == filepath.Base(w.dropin):
		// The drop-in directory made, or removed, or renamed: a finished
		// change of the fragments. A new one is watched from now on (the
		// old one's watch may still follow it, renamed away), and the
		// reload reads what was put in it before.
		if mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
			return configChange{kind: configRemoved, file: w.dropin}, true
		}
		if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) == 0 {
			return configChange{}, false
		}
		ch := configChange{kind: configWritten, file: w.dropin}
		if err := w.watchDropin(); err != nil && !errors.Is(err, unix.ENOENT) { // ENOENT: gone again, its removal follows
			ch.err = fmt.Errorf("watch %s: %w", w.dropin, err)
		}
		return ch, true
	case wd == w.dirWD && name == w.name && mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		// The config file's own removal is no edit, but a write of it
		// that was unfinished never will be.
		return configChange{kind: configDropped, file: filepath.Join(w.dir, w.name)}, true
	case wd == w.dirWD:
		return configEventOf(mask, name, w.name, w.dir)
	case wd == w.dropinWD && mask&unix.IN_IGNORED != 0:
		w.dropinWD = -1 // the directory went: its own parent's event says so
		return configChange{}, false
	case wd == w.dropinWD && mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0:
		// Renamed away, the directory would stay watched where it went,
		// and no IN_IGNORED says so: drop the watch (deleted, the kernel
		// has dropped it already).
		w.unwatchDropin()
		return configChange{kind: configRemoved, file: w.dropin}, true
	case wd == w.dropinWD && config.IsFragment(name):
		if mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
			// A fragment removed is a finished change.
			return configChange{kind: configRemoved, file: filepath.Join(w.dropin, name)}, true
		}
		return configEventOf(mask, name, name, w.dropin)
	}
	return configChange{}, false
}

// configEventOf says what one inotify event in dir means for the config
// file (or fragment) called name, if anything.
func configEventOf(mask uint32, evName, name, dir string) (configChange, bool) {
	file := filepath.Join(dir, name)
	switch {
	case evName != name:
		return configChange{}, false
	case mask&(unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO) != 0:
		return configChange{kind: configWritten, file: file}, true
	case mask&unix.IN_CREATE != 0:
		// A regular file is being written; a symlink, a FIFO, a directory
		// made there is done (and a reload says what is wrong with it).
		if fi, err := os.Lstat(file); err == nil && !fi.Mode().IsRegular() {
			return configChange{kind: configWritten, file: file}, true
		}
		return configChange{kind: configWriting, file: file}, true
	case mask&unix.IN_MODIFY != 0:
		return configChange{kind: configWriting, file: file}, true
	}
	return configChange{}, false
}

// configWatchStart is the config watcher as started, before the config
// is read and there is a logger to say how it went.
type configWatchStart struct {
	changed <-chan configChange
	dropin  bool
	err     error
}

// startConfigWatch starts watching the config file at path.
func startConfigWatch(ctx context.Context, path string) configWatchStart {
	changed, dropin, err := watchConfig(ctx, path)
	return configWatchStart{changed: changed, dropin: dropin, err: err}
}

// configFeed is what the daemon's loops take of the config watcher: its
// events (nil when it could not start), and the settler that turns them
// into reloads, the same from the wait for the kubelet to the end.
type configFeed struct {
	changed <-chan configChange
	edits   *settler
}

// feed says, on d's logger, how the watcher started, and gives its feed.
func (w configWatchStart) feed(d *Daemon) configFeed {
	path := d.opt.ConfigPath
	switch {
	case w.err != nil:
		d.log.Warn("cannot watch the config file: reload it with SIGHUP (systemctl reload kube-oomd)", vocab.Config, path, vocab.Error, w.err)
	case w.changed == nil:
		d.log.Warn(msgConfigDirMissing, vocab.Config, path, vocab.File, filepath.Dir(path))
	case !w.dropin:
		d.log.Debug("the config drop-in directory does not exist: it is watched once made (and SIGHUP reads it)", vocab.Config, path, vocab.File, config.DropinDir(path))
	}
	return configFeed{changed: w.changed, edits: &settler{clock: d.clock}}
}

// msgConfigDirMissing is logged when the config file's directory does not
// exist, so that nothing there can be watched.
const msgConfigDirMissing = "the config file's directory does not exist: edits are not watched; reload with SIGHUP (systemctl reload kube-oomd) once it is made"

// configSettled reloads, once the settle wait is over, if a change waits
// and no write is unfinished.
func (d *Daemon) configSettled(edits *settler) {
	if edits.due() {
		d.log.Info("config file changed: reloading", vocab.Config, d.opt.ConfigPath)
		d.reload()
	}
}

// configChanged takes one event of the config watcher.
func (d *Daemon) configChanged(edits *settler, ev configChange) {
	if ev.err != nil {
		d.log.Warn(msgDropinUnwatched, vocab.Config, d.opt.ConfigPath, vocab.File, ev.file, vocab.Error, ev.err)
	}
	if edits.note(ev) {
		d.log.Info(msgConfigWriting, vocab.Config, d.opt.ConfigPath, vocab.File, ev.file)
	}
}

// msgDropinUnwatched is logged when the drop-in directory was made but
// cannot be watched.
const msgDropinUnwatched = "cannot watch the config drop-in directory: edits of its fragments are not applied on their own; " +
	"reload with SIGHUP (systemctl reload kube-oomd), and raise fs.inotify.max_user_watches if it is reached"

// reload loads the config file and its fragments again and applies them,
// whole or not at all. What it cannot apply at run time ([cgroup],
// [runtime], [metrics]) waits for a restart, and says so.
func (d *Daemon) reload() {
	d.notify.Reloading()
	defer d.notify.Ready()
	failed := false // each "config reload failed" sets it, for kube_oomd_config_last_reload_successful
	defer func() { d.metrics.ConfigReloaded(!failed, d.clock.Now()) }()
	path := d.opt.ConfigPath
	// A config file missing at the last load may still be (the defaults,
	// plus the fragments); one that was there must not vanish. Every file
	// is read without ever blocking: a FIFO there is an error.
	cfg, src, err := config.Reload(path, d.sources)
	if err != nil {
		d.log.Error("config reload failed: keeping the configuration in force", vocab.Config, path, vocab.Error, err)
		failed = true
		return
	}
	if d.opt.DryRunFlag {
		cfg.Kill.Mode = config.ModeDryRun
	}
	cfg, waiting := config.KeepRestartOnly(cfg, d.cfg)
	for _, section := range waiting {
		attrs := []any{vocab.Config, path}
		if section == config.SectionMetrics {
			attrs = append(attrs, vocab.Listen, d.cfg.Metrics.Listen)
		}
		d.log.Warn("changes to ["+section+"] take effect after a restart", attrs...)
	}
	if reflect.DeepEqual(cfg, d.cfg) {
		d.sources = src
		d.log.Info("config reloaded: nothing changed", vocab.Config, path, vocab.Files, src.Paths(), vocab.Mode, d.cfg.Kill.Mode)
		d.logSources()
		return
	}
	log, format := d.log, d.logFormat
	if cfg.Log != d.cfg.Log && d.opt.Logger == nil {
		if log, format, err = NewLogger(cfg.Log, d.opt.Stderr); err != nil {
			d.log.Error("config reload failed: keeping the configuration in force", vocab.Config, path, vocab.Error, err)
			failed = true
			return
		}
	}
	if d.triggers != nil { // nil while waiting for the kubelet's cgroup
		if err := d.applyTriggers(cfg); err != nil {
			d.log.Error("config reload failed: cannot register the new PSI triggers; keeping the configuration in force", vocab.Config, path, vocab.Error, err)
			failed = true
			return
		}
	}
	d.cfg, d.sources, d.log, d.logFormat = cfg, src, log, format
	if d.act != nil && !ladder(cfg).Acts(dryRun(cfg)) {
		d.liftAll(relief.LiftReliefOff) // nothing may stay throttled by a ladder that is off
	}
	d.log.Info("config reloaded", vocab.Config, path, vocab.Files, src.Paths(), vocab.Mode, d.cfg.Kill.Mode, vocab.Settings, d.cfg)
	d.logSources()
	if d.act != nil {
		d.setStatus()
	}
}

// logSources says, at debug level, what of the drop-in directory was not
// read.
func (d *Daemon) logSources() {
	dir := config.DropinDir(d.opt.ConfigPath)
	if d.sources.NoDir {
		d.log.Debug("no config drop-in directory: fragments put there once it is made are read then", vocab.Config, d.opt.ConfigPath, vocab.File, dir)
	}
	for _, name := range d.sources.Ignored {
		d.log.Debug("config drop-in ignored: only *.toml files are read", vocab.Config, d.opt.ConfigPath, vocab.File, name)
	}
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
			vocab.File, t.Path, vocab.Requested, t.Requested.String(), vocab.InForce, t.Spec.String())
	}
	d.th = thresholds(cfg, d.triggers.inForce(), d.memTotal, d.features)
	return nil
}
