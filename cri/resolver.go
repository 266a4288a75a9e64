package cri

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kube-oomd/kube-oomd/internal/clock"
)

// Options set up a Resolver.
type Options struct {
	// Socket is the runtime's unix socket; "" tries Candidates at each
	// refresh, so that a runtime that starts after kube-oomd is found.
	Socket string
	// Candidates are tried in order when Socket is ""; nil means
	// DefaultSockets.
	Candidates []string
	// Timeout bounds one refresh.
	Timeout time.Duration
	// Retry is how long after a failed refresh the runtime is asked again,
	// and how long a pod it did not list waits before it is asked for
	// again.
	Retry time.Duration
	// Clock times Retry; nil means the system clock.
	Clock clock.Clock
	// Report, if set, hears of the runtime's state, from the refresh's
	// goroutine: the socket (or, when none was found, the sockets tried)
	// and an *Error when a refresh fails, once until one succeeds again;
	// the socket and a nil error when one succeeds for the first time, and
	// for the first time after failures.
	Report func(socket string, err error)
}

// Resolver names pods from what the runtime last said, and asks it again,
// in the background, when a pod or container it does not know appears. Its
// methods never wait on the runtime and are safe for concurrent use; a nil
// *Resolver knows nothing and asks nothing (the lookup is off).
type Resolver struct {
	opt Options
	ctx context.Context
	wg  sync.WaitGroup

	mu        sync.Mutex
	pods      map[string]Pod  // by UID: the pods asked for, as last listed
	wanted    map[string]want // unknown pods, or pods with unknown containers, by UID
	busy      bool            // a refresh is in flight
	rounds    int             // refreshes started
	failing   bool            // the last refresh failed, and was reported
	answered  bool            // a refresh has succeeded
	notBefore time.Time       // no refresh before this (after a failure)
}

// want is a pod asked for and not (fully) known.
type want struct {
	containers []string  // container IDs asked for
	round      int       // refreshes started before it was first asked for
	notBefore  time.Time // not to be asked for again before this
}

// NewResolver returns a Resolver whose refreshes end with ctx.
func NewResolver(ctx context.Context, opt Options) *Resolver {
	if opt.Clock == nil {
		opt.Clock = clock.Real()
	}
	if opt.Candidates == nil {
		opt.Candidates = DefaultSockets()
	}
	return &Resolver{opt: opt, ctx: ctx, pods: map[string]Pod{}, wanted: map[string]want{}}
}

// Lookup returns what the runtime said of the pod with the UID, at once.
func (r *Resolver) Lookup(uid string) (Pod, bool) {
	if r == nil {
		return Pod{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pods[uid]
	return p, ok
}

// Want asks for the names of the pod with the UID and of its containers
// with the IDs: if any is unknown, a refresh starts in the background,
// unless one is in flight (it is asked for again when that one ends, if it
// was asked for after it began), the runtime failed less than Retry ago,
// or it was asked for and not listed less than Retry ago. It never waits.
func (r *Resolver) Want(uid string, containerIDs ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known(uid, containerIDs) {
		return
	}
	w, ok := r.wanted[uid]
	if !ok {
		w.round = r.rounds
	}
	for _, id := range containerIDs {
		if !slices.Contains(w.containers, id) {
			w.containers = append(w.containers, id)
			// A container's cgroup appears once the runtime has made
			// it, so the runtime lists it (and its pod) now: a pod not
			// listed at its first ask (its cgroup comes before its
			// sandbox) is asked for again at once, not after Retry.
			w.round, w.notBefore = r.rounds, time.Time{}
		}
	}
	r.wanted[uid] = w
	r.startLocked()
}

// Forget drops a pod that is gone.
func (r *Resolver) Forget(uid string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pods, uid)
	delete(r.wanted, uid)
}

// Wait waits for the refresh in flight, if any, to end.
func (r *Resolver) Wait() {
	if r != nil {
		r.wg.Wait()
	}
}

// known says whether the pod and all the containers are known; r.mu held.
func (r *Resolver) known(uid string, containerIDs []string) bool {
	p, ok := r.pods[uid]
	if !ok {
		return false
	}
	for _, id := range containerIDs {
		if _, ok := p.Containers[id]; !ok {
			return false
		}
	}
	return true
}

// startLocked starts a refresh if one is due; r.mu held.
func (r *Resolver) startLocked() {
	now := r.opt.Clock.Now()
	if r.busy || now.Before(r.notBefore) || r.ctx.Err() != nil {
		return
	}
	due := false
	for _, w := range r.wanted {
		if !now.Before(w.notBefore) {
			due = true
			break
		}
	}
	if !due {
		return
	}
	r.busy = true
	r.rounds++
	r.wg.Add(1)
	go r.refresh(r.rounds)
}

// refresh lists the runtime's pods once and merges what it said; it is
// the round-th refresh started.
func (r *Resolver) refresh(round int) {
	defer r.wg.Done()
	socket, err := r.opt.Socket, error(nil)
	if socket == "" {
		if socket, err = FindSocket(r.opt.Candidates); err != nil {
			socket = strings.Join(r.opt.Candidates, ", ") // as the error says
		}
	}
	var x Index
	if err == nil {
		ctx, cancel := context.WithTimeout(r.ctx, r.opt.Timeout)
		x, err = List(ctx, socket)
		cancel()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy = false
	now := r.opt.Clock.Now()
	if err != nil {
		r.notBefore = now.Add(r.opt.Retry)
		if !r.failing && r.ctx.Err() == nil {
			r.failing = true
			r.report(socket, err)
		}
		return
	}
	// Only the pods asked for are kept: one forgotten meanwhile is gone.
	for uid, p := range x {
		if _, asked := r.wanted[uid]; asked {
			r.pods[uid] = p
		} else if _, held := r.pods[uid]; held {
			r.pods[uid] = p
		}
	}
	for uid, w := range r.wanted {
		switch {
		case r.known(uid, w.containers):
			delete(r.wanted, uid)
		case w.round < round:
			// Asked for before this refresh, and still not listed: the
			// runtime may not have it yet (the kubelet makes the pod's
			// cgroup first), or never will (a pod it did not start).
			w.notBefore = now.Add(r.opt.Retry)
			r.wanted[uid] = w
		}
	}
	if r.failing || !r.answered {
		r.failing, r.answered = false, true
		r.report(socket, nil)
	}
	r.startLocked() // for what was asked for meanwhile
}

// report tells Report, without r.mu: Report may log, and logging must not
// hold up Lookup.
func (r *Resolver) report(socket string, err error) {
	if r.opt.Report == nil {
		return
	}
	r.mu.Unlock()
	defer r.mu.Lock()
	r.opt.Report(socket, err)
}
