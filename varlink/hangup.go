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

// hangupAfter is how long a call runs before its client's hang-up is
// watched for. The watch matters for calls that wait on polkit, which
// take milliseconds; a cached answer is written well before this, and
// watching from the start cost every call a goroutine, a poller
// registration and, to stop it, a wake-up of that goroutine before the
// reply could be written.
const hangupAfter = time.Millisecond

// watchHangup returns ctx, cancelled if the client closes its end of nc
// while a call is being handled (so the engine stops asking polkit for an
// answer nobody will read), and stop, which ends the watch; call it
// before reading from nc again. The watch starts once the call has run
// for hangupAfter. It peeks, so the client's next message stays in the
// socket; once one has arrived it stops watching.
func watchHangup(ctx context.Context, nc net.Conn) (context.Context, func()) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return ctx, func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &hangupWatch{done: make(chan struct{})}
	timer := time.AfterFunc(hangupAfter, func() {
		if w.begin() {
			defer close(w.done)
			peekHangup(rc, cancel)
		}
	})
	return ctx, func() {
		timer.Stop()
		if w.end() {
			nc.SetReadDeadline(time.Now())
			<-w.done
		}
		cancel()
	}
}

// hangupWatch tells the delayed watch and stop apart: whichever comes
// first decides whether the watch runs.
type hangupWatch struct {
	mu      sync.Mutex
	started bool
	stopped bool
	done    chan struct{} // closed when a started watch has returned
}

// begin reports whether the watch may start (stop has not been called).
func (w *hangupWatch) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = !w.stopped
	return w.started
}

// end stops the watch from starting and reports whether it had started;
// it must then be interrupted and waited for.
func (w *hangupWatch) end() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	return w.started
}

// peekHangup waits until nc is readable and cancels when that is the end
// of the stream. It returns on data, on the end of the stream, or when a
// read deadline interrupts it.
func peekHangup(rc syscall.RawConn, cancel context.CancelFunc) {
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
