// Package interrupt writes to a kernel file whose write can block in the
// writer's thread for a long time, and cuts the write short when a context
// ends. It is the one owner of that trick; relief uses it for
// memory.reclaim, killer for memory.max.
//
// A write to memory.reclaim runs reclaim in the writer's thread, and can
// take many seconds when the cgroup has little that reclaim can take (it
// retries before it gives up with EAGAIN). A write to memory.max below the
// cgroup's usage reclaims, then calls the cgroup's OOM killer in a loop
// until usage fits or no task is left to kill. The kernel checks for a
// pending signal between its attempts and then returns: memory.reclaim
// with EINTR, which no SA_RESTART restarts; memory.max with success, the
// new limit in force. So that no caller waits on the kernel past its
// deadline, Write signals its own thread (SIGURG, which the Go runtime
// already expects and ignores) once ctx ends, until the write returns.
package interrupt

import (
	"context"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// every is how often the thread is signalled again, in case a signal came
// just before the write entered the kernel.
const every = 10 * time.Millisecond

// Write writes b to fd, and interrupts the write once ctx ends: the error
// is then EINTR where the file's write says so (memory.reclaim), and the
// write's own result where it does not (memory.max). A write that never
// blocks completes whole.
func Write(ctx context.Context, fd int, b []byte) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, tid := unix.Getpid(), unix.Gettid()
	var mu sync.Mutex
	writing := true
	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		for {
			mu.Lock()
			if !writing {
				mu.Unlock()
				return
			}
			// The thread is locked to this goroutine until the write
			// returned and writing went false: tid names it.
			unix.Tgkill(pid, tid, unix.SIGURG)
			mu.Unlock()
			time.Sleep(every)
		}
	})
	n, err := unix.Write(fd, b)
	mu.Lock()
	writing = false
	mu.Unlock()
	if !stop() {
		<-stopped // the signaller ran: let it see writing false before the thread is unlocked
	}
	return n, err
}
