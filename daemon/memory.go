// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
)

// tuneGC sizes the collector to the decision cache cache_size allows
// (engine.GCPercent, engine.MemoryLimit), at start and on every reload.
// GOGC or GOMEMLIMIT in the environment (a drop-in's Environment=) win:
// the administrator's choice stands.
func tuneGC(cacheSize int, log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		gogc := engine.GCPercent(cacheSize)
		debug.SetGCPercent(gogc)
		log.Debug("collector sized to the cache", "cache_size", cacheSize, "gogc", gogc)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limit := engine.MemoryLimit(cacheSize)
		debug.SetMemoryLimit(limit)
		log.Debug("soft memory limit sized to the cache", "cache_size", cacheSize, "bytes", limit)
	}
}
