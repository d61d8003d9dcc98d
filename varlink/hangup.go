// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchHangup returns ctx, cancelled if the client closes its end of nc
// while a call is being handled (so the engine stops asking polkit for an
// answer nobody will read), and stop, which ends the watch; call it
// before reading from nc again. The watch peeks, so the client's next
// message stays in the socket; once one has arrived it stops watching.
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
	done := make(chan struct{})
	go func() {
		defer close(done)
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
	}()
	return ctx, func() {
		nc.SetReadDeadline(time.Now())
		<-done
		cancel()
	}
}
