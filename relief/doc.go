// Package relief acts before a kill: it reclaims page cache from a cgroup
// with memory.reclaim (reclaim.go), sets and checks a temporary memory.high
// (high.go), and keeps the throttles in force in a state file, so that a
// restarted daemon can restore every limit it set (store.go).
package relief
