// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"log/slog"
	"sync"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"
)

// idleExit tells the socket-activated guard when it has had no client
// for guard_idle_timeout: it may exit then, and systemd starts it again
// on the next connection, as libvirtd's socket units do (--timeout 120).
// It is safe for concurrent use.
type idleExit struct {
	idle chan struct{} // receives once the timeout passed with no client

	mu      sync.Mutex
	timeout time.Duration // 0: never idle
	clients int
	epoch   uint64 // moves on every change, so a countdown armed before it is void
}

func newIdleExit(timeout time.Duration) *idleExit {
	i := &idleExit{idle: make(chan struct{}, 1), timeout: timeout}
	i.mu.Lock()
	i.countdown()
	i.mu.Unlock()
	return i
}

// conns is Options.Conns: a client connected (+1) or left (-1).
func (i *idleExit) conns(delta int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clients += delta
	i.countdown()
}

// setTimeout applies a reloaded guard_idle_timeout, counting afresh.
func (i *idleExit) setTimeout(d time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.timeout = d
	i.countdown()
}

// quiet reports whether no client is connected: an idle signal read
// after a client came is stale.
func (i *idleExit) quiet() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.clients == 0
}

// countdown voids any countdown running and, with no client, starts one.
// The caller holds mu.
func (i *idleExit) countdown() {
	i.epoch++
	if i.clients > 0 || i.timeout <= 0 {
		return
	}
	epoch := i.epoch
	time.AfterFunc(i.timeout, func() {
		i.mu.Lock()
		still := i.epoch == epoch
		i.mu.Unlock()
		if still {
			select {
			case i.idle <- struct{}{}:
			default:
			}
		}
	})
}

// watchdog sends systemd's watchdog keep-alive (sd_notify WATCHDOG=1) at
// half the unit's WatchdogSec= until stop is closed; without WatchdogSec=
// it does nothing.
func watchdog(stop <-chan struct{}, log *slog.Logger) {
	interval, err := sdaemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("watchdog settings unusable; not sending keep-alives", "err", err)
		return
	}
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			notify("WATCHDOG=1")
		case <-stop:
			return
		}
	}
}
