// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchHangup returns ctx, cancelled if the client closes its end of nc
// while a call is being handled (so the engine stops asking polkit for an
// answer nobody will read), and stop, which ends the watch; call it
// before reading from nc again.
//
// The watch starts only when something first waits on the context's
// Done, as a call that asks polkit does: a cached answer never waits,
// and so costs no goroutine, no poller registration and no timer (a
// timer per call woke the runtime's poller on every call). The watch
// peeks, so the client's next message stays in the socket; once one has
// arrived it stops watching.
func watchHangup(ctx context.Context, nc net.Conn) (context.Context, func()) {
	sc, ok := nc.(syscall.Conn)
	if !ok || ctx.Done() != nil {
		// Not a socket to peek at, or a parent that can end by itself:
		// the lazy context below has no way to pass that on.
		return ctx, func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ctx, func() {}
	}
	h := &hangupContext{Context: ctx, rc: rc, nc: nc}
	return h, h.stop
}

// hangupContext is a call's context, cancelled when its client hangs up.
// Its parent never ends by itself (Done is nil), so Done and Err are its
// own.
type hangupContext struct {
	context.Context
	rc syscall.RawConn
	nc net.Conn

	mu       sync.Mutex
	done     chan struct{} // made by the first Done
	err      error         // context.Canceled once cancelled
	stopped  bool          // stop was called: start no watch
	watching chan struct{} // closed when a started watch returns; nil if none started
	after    map[*func()]struct{}
}

// Done starts the watch on its first call.
func (h *hangupContext) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = make(chan struct{})
		if h.err != nil {
			close(h.done)
		} else if !h.stopped {
			h.watching = make(chan struct{})
			go h.watch()
		}
	}
	return h.done
}

func (h *hangupContext) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// watch peeks until the client hangs up, sends data, or stop interrupts.
func (h *hangupContext) watch() {
	defer close(h.watching)
	peekHangup(h.rc, h.cancel)
}

func (h *hangupContext) cancel() {
	h.mu.Lock()
	if h.err != nil {
		h.mu.Unlock()
		return
	}
	h.err = context.Canceled
	if h.done != nil {
		close(h.done)
	}
	after := h.after
	h.after = nil
	h.mu.Unlock()
	for f := range after {
		(*f)()
	}
}

// AfterFunc arranges for f to run once the context is cancelled. The
// context package uses it for contexts derived from this one (such as
// the engine's timeout on a polkit call), which then end with it
// without a goroutine of their own; f is theirs and does not block.
func (h *hangupContext) AfterFunc(f func()) (stop func() bool) {
	h.Done() // a derived context waits: watch
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		go f()
		return func() bool { return false }
	}
	if h.after == nil {
		h.after = map[*func()]struct{}{}
	}
	key := &f
	h.after[key] = struct{}{}
	return func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		_, pending := h.after[key]
		delete(h.after, key)
		return pending
	}
}

// stop ends the watch, interrupting a started one with a read deadline
// and waiting for it, and cancels the context, so that contexts derived
// from it are released.
func (h *hangupContext) stop() {
	h.mu.Lock()
	h.stopped = true
	watching := h.watching
	h.mu.Unlock()
	if watching != nil {
		h.nc.SetReadDeadline(time.Now())
		<-watching
	}
	h.cancel()
}

// peekHangup waits until nc is readable and cancels when that is the end
// of the stream. It returns on data, on the end of the stream, or when a
// read deadline interrupts it.
func peekHangup(rc syscall.RawConn, cancel func()) {
	var b [1]byte
	err := rc.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return false // nothing yet: wait until readable
		case err == nil && n == 0:
			cancel() // end of stream: the client hung up
		}
		return true
	})
	_ = err // a deadline set by stop, or the connection closing
}
