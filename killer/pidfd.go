package killer

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/internal/procfs"
)

// pidfd_open(2) 5.3+, pidfd_send_signal(2) 5.1+, process_mrelease(2) 5.15+.
// A pidfd names one process, not a PID number: once it is open, signals sent
// through it can never reach a process that later reuses the number.

// openPidfd opens a pidfd for pid: pidfdOpen, which tests replace to play
// a PID that is reused between the listing and the open.
var openPidfd = pidfdOpen

// pidfdOpen opens a pidfd for pid. The kernel always sets close-on-exec.
// ESRCH (the process is already gone) is returned as is for the caller to skip.
func pidfdOpen(pid int) (int, error) {
	for {
		fd, err := unix.PidfdOpen(pid, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// sigkill sends SIGKILL to the process behind fd.
func sigkill(fd int) error {
	return unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
}

// alive reports whether the process behind fd still holds its PID (a zombie
// does too: the number cannot be reused until it is reaped).
func alive(fd int) bool {
	return unix.PidfdSendSignal(fd, 0, nil, 0) == nil
}

// exited reports whether the process behind fd has exited: a pidfd polls
// readable once its whole thread group is gone, zombie or reaped (5.3+).
// Unlike alive, a zombie that its parent never reaps counts as exited: its
// memory is freed and it left its cgroup, whatever its parent does.
func exited(fd int) bool {
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0
	}
}

// dying reports whether the process behind fd is dead or dying for good,
// and whether process_mrelease, asked on the way, freed its memory (or
// found it freed). Dead: the pidfd polls readable (exited). Dying:
// process_mrelease(2) succeeds, which it does only for a process whose
// every thread is exiting, a SIGKILL taken (the kernel's
// task_will_free_mem: the signal group is exiting, or a single thread
// is), or whose memory was already reaped (MMF_OOM_SKIP), and it frees
// that memory now (mm/oom_kill.c); EAGAIN: dying, but the reap could not
// be done; ESRCH: no thread of it holds its memory any more, or the
// process is gone. A live process, or one whose leader exited while other
// threads run, gets EINVAL: not dying. process_mrelease never marks the
// memory reaped for the OOM killer (MMF_OOM_SKIP), so it does not let the
// kernel move on to another victim. Before 5.15 (ENOSYS) only exited
// counts.
func dying(fd int) (ok, released bool) {
	if exited(fd) {
		return true, false
	}
	switch mrelease(fd) {
	case nil:
		return true, true
	case unix.ESRCH, unix.EAGAIN:
		return true, false
	}
	return false, false
}

// mrelease asks the kernel to free the memory of the killed process behind fd
// now, on this thread, rather than when the victim gets around to exiting.
// ESRCH (its memory is already gone) and EINVAL (not dying, or work already
// done) are normal; ENOSYS means the kernel is older than 5.15.
func mrelease(fd int) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_PROCESS_MRELEASE, uintptr(fd), 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		default:
			return errno
		}
	}
}

// procSet holds one pidfd per process of the victim, keyed by PID.
type procSet struct {
	fds       map[int]int  // pid -> pidfd
	signaled  map[int]bool // pid -> SIGKILL sent through fds[pid]
	outside   map[int]bool // pid -> listed, but its process was found outside the victim
	spare     map[int]bool // pid -> never to be signalled (Target.Vet's spare)
	spared    map[int]bool // pid -> spare, and listed in the cgroup at kill time: left alive
	released  map[int]bool // pid -> process_mrelease freed its memory while the method oom waited
	newcomers int          // processes leftover found in the cgroup that the kill never named (procSet.named)
	root      string       // /proc, for dyingNow (Killer.ProcRoot); "" leaves it to process_mrelease
	later     map[int]bool // pid -> found dying by /proc: its memory released once the kill is confirmed (releaseLater)
}

func newProcSet() *procSet {
	return &procSet{fds: map[int]int{}, signaled: map[int]bool{}, outside: map[int]bool{},
		spare: map[int]bool{}, spared: map[int]bool{}, released: map[int]bool{}, later: map[int]bool{}}
}

// setSpare records the PIDs that must never be signalled and pins a pidfd
// on each: the one opened before Vet while its process lives, else one for
// whoever holds the number now. The kill spares by number (a live process
// keeps its PID, so the spared process is always behind it, and a number
// that passed to another process spares that one too: too much, never too
// little); the pinned pidfd tells the wait for the kill's end whether a
// spared PID still names the process that was spared (spareHeld).
func (s *procSet) setSpare(pids []int) {
	for _, pid := range pids {
		if pid <= 0 || s.spare[pid] {
			continue
		}
		s.spare[pid] = true
		s.resolve(pid) // a failure leaves it unpinned: spareHeld says false
	}
}

// spareHeld reports whether pid is spared and its pinned pidfd still names
// a live process, so that a listed pid is that process and not another
// that took its number.
func (s *procSet) spareHeld(pid int) bool {
	fd, ok := s.fds[pid]
	return s.spare[pid] && ok && alive(fd)
}

// skip records that the process behind pid's pidfd is not the victim's,
// and closes that pidfd: nothing is done through it.
func (s *procSet) skip(pid int) {
	s.outside[pid] = true
	if fd, ok := s.fds[pid]; ok {
		unix.Close(fd)
		delete(s.fds, pid)
	}
}

// add opens pidfds for pids where it can. Processes that are gone are
// skipped. Other failures (ENOMEM, EMFILE) are ignored here: on the
// cgroup.kill path they only cost process_mrelease, and the freezer path
// tries again and refuses to kill a process it cannot open.
func (s *procSet) add(pids []int) {
	for _, pid := range pids {
		s.resolve(pid)
	}
}

// resolve returns the pidfd for the process that holds pid now, opening a new
// one if there is none or if the process behind the old one has been reaped
// (the number may have been reused). It returns -1, nil when pid is gone.
func (s *procSet) resolve(pid int) (int, error) {
	if fd, ok := s.fds[pid]; ok {
		if alive(fd) {
			return fd, nil
		}
		unix.Close(fd)
		delete(s.fds, pid)
		delete(s.signaled, pid)
	}
	fd, err := openPidfd(pid)
	if errors.Is(err, unix.ESRCH) {
		return -1, nil
	}
	if err != nil {
		return -1, err
	}
	s.fds[pid] = fd
	return fd, nil
}

// releaseAll calls process_mrelease on every pidfd and returns how many
// succeeded. It stops at ENOSYS (kernel < 5.15). When there are PIDs to
// spare, only the pidfds of signalled processes are released: never a
// spared one's.
func (s *procSet) releaseAll() int {
	n := 0
	for pid, fd := range s.fds {
		if s.spare[pid] || (len(s.spare) > 0 && !s.signaled[pid]) {
			continue
		}
		err := mrelease(fd)
		if err == nil {
			n++
		}
		if err == unix.ENOSYS {
			break
		}
	}
	return n
}

// dyingNow is dying(fd) for the process pid behind fd, without freeing
// its memory on the way when /proc says enough: a process whose
// /proc/<pid>/stat shows it dying (a SIGKILL pending, exiting, a zombie:
// procfs.ParseStatDying) is dying, and its memory is released later
// (releaseLater), once the kill is confirmed. process_mrelease frees on
// the calling thread, and the confirmation waited for it: about half a
// second for 800 MiB under TCG (20 in make compare, 780 ms of took).
// Where /proc says nothing (not dying, unreadable), process_mrelease
// decides, as dying does. The number is read, not the pidfd: a process
// that exited since is dead anyway, and a number reused by a live one
// reads as not dying.
func (s *procSet) dyingNow(pid, fd int) (ok, released bool) {
	if exited(fd) {
		return true, false
	}
	if s.root != "" {
		if d, err := procfs.ReadStatDying(nil, s.root, pid); err == nil && d {
			s.later[pid] = true
			return true, false
		}
	}
	return dying(fd)
}

// releaseLater calls process_mrelease on the processes dyingNow left for
// later, and records those it freed in s.released.
func (s *procSet) releaseLater() {
	for pid := range s.later {
		fd, ok := s.fds[pid]
		if !ok || exited(fd) {
			continue
		}
		switch err := mrelease(fd); err {
		case nil:
			s.released[pid] = true
		case unix.ENOSYS:
			return
		}
	}
}

// laterExited says whether every process dyingNow left for later has
// exited.
func (s *procSet) laterExited() bool {
	for pid := range s.later {
		if fd, ok := s.fds[pid]; ok && !exited(fd) {
			return false
		}
	}
	return true
}

func (s *procSet) close() {
	for pid, fd := range s.fds {
		unix.Close(fd)
		delete(s.fds, pid)
	}
}
