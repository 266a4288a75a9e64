// Package relief acts before a kill. Ladder (ladder.go) is the one owner
// of the throttles in force: it carries out the steps that policy plans
// (reclaim, throttle, release, and giving a throttle back), through the
// Setter that writes memory.high (high.go: the file, or systemd's unit
// property), and keeps every throttle in a state file written before the
// limit is lowered (store.go), so that a restarted daemon gives each one
// back. Reclaim (reclaim.go) writes memory.reclaim in chunks. The files
// themselves, and what their errnos mean (memory.reclaim's EAGAIN, a
// kernel without it, a cgroup gone), are cgroupv2's: relief decides
// nothing about an errno.
//
// The Ladder never logs and never decides: it returns a Result per step
// for the daemon to log, the way killer.Result does. It is not safe for
// concurrent use; the daemon calls it from its action worker only.
package relief
