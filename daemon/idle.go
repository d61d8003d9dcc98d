// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"sync"
	"time"
)

// idleTimer fires after timeout with no open connection. A zero timeout
// never fires.
type idleTimer struct {
	mu      sync.Mutex
	timeout time.Duration
	conns   int
	t       *time.Timer
	c       chan time.Time
}

func newIdleTimer(timeout time.Duration) *idleTimer {
	it := &idleTimer{timeout: timeout, c: make(chan time.Time, 1)}
	it.arm()
	return it
}

// C delivers a time when the daemon has been idle for the timeout.
func (it *idleTimer) C() <-chan time.Time { return it.c }

// active is told the number of open connections whenever it changes.
func (it *idleTimer) active(n int) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.conns = n
	if n > 0 {
		it.disarm()
	} else {
		it.arm()
	}
}

func (it *idleTimer) setTimeout(d time.Duration) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.timeout = d
	if it.conns == 0 {
		it.arm()
	}
}

// arm (re)starts the countdown; the caller holds mu (or is the constructor).
func (it *idleTimer) arm() {
	it.disarm()
	select { // a tick from before this countdown is stale
	case <-it.c:
	default:
	}
	if it.timeout <= 0 {
		return
	}
	it.t = time.AfterFunc(it.timeout, func() {
		select {
		case it.c <- time.Now():
		default:
		}
	})
}

func (it *idleTimer) disarm() {
	if it.t != nil {
		it.t.Stop()
		it.t = nil
	}
}
