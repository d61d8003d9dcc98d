// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"log/slog"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"
)

// notify sends state to systemd; without NOTIFY_SOCKET it does nothing.
// Errors are ignored: the service works without a manager to tell.
func notify(state string) {
	sdaemon.SdNotify(false, state)
}

// startWatchdog pings systemd's watchdog at half its interval when the
// unit has WatchdogSec= set, and returns the function stopping it.
func startWatchdog(log *slog.Logger) func() {
	interval, err := sdaemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("watchdog settings unusable; not pinging", "err", err)
	}
	if err != nil || interval <= 0 {
		return func() {}
	}
	t := time.NewTicker(interval / 2)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				notify("WATCHDOG=1")
			case <-done:
				return
			}
		}
	}()
	log.Debug("watchdog enabled", "interval", interval)
	return func() { t.Stop(); close(done) }
}
