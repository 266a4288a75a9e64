package relief

import (
	"context"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A write to memory.reclaim runs reclaim in the writer's thread, and can
// take many seconds when the cgroup has little that reclaim can take (it
// retries before it gives up with EAGAIN). The kernel checks for a
// pending signal between its attempts and then returns EINTR, which no
// SA_RESTART restarts. So that a kill never waits behind reclaim, and a
// stop never waits for it, writeInterruptible signals its own thread
// (SIGURG, which the Go runtime already expects and ignores) once ctx
// ends, until the write returns.

// interruptEvery is how often the thread is signalled again, in case a
// signal came just before the write entered the kernel.
const interruptEvery = 10 * time.Millisecond

// writeInterruptible writes b to fd, and interrupts the write once ctx
// ends: the error is then EINTR.
func writeInterruptible(ctx context.Context, fd int, b []byte) (int, error) {
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
			time.Sleep(interruptEvery)
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
