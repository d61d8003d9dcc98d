// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
)

// limitMemory sets the soft memory limit to what the decision cache
// cache_size allows may hold (engine.MemoryLimit), at start and on every
// reload. GOMEMLIMIT in the environment (a drop-in's Environment=) wins:
// the administrator's choice stands.
func limitMemory(cacheSize int, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") == "" {
		limit := engine.MemoryLimit(cacheSize)
		debug.SetMemoryLimit(limit)
		log.Debug("soft memory limit sized to the cache", "cache_size", cacheSize, "bytes", limit)
	}
}

// collector is the collector's GOGC and soft memory limit, as Run found
// them. The daemon changes both (limitMemory, gcTuner); restore puts them
// back when Run returns, so that a program running the daemon in process
// keeps its own settings afterwards.
type collector struct {
	percent int
	limit   int64
}

// The runtime metrics saveCollector reads: the settings themselves, so
// that reading them changes nothing.
const (
	gogcMetric     = "/gc/gogc:percent"
	memLimitMetric = "/gc/gomemlimit:bytes"
)

func saveCollector() collector {
	s := []metrics.Sample{{Name: gogcMetric}, {Name: memLimitMetric}}
	metrics.Read(s)
	// GOGC=off reads as -1 in two's complement.
	return collector{percent: int(int64(s[0].Value.Uint64())), limit: int64(s[1].Value.Uint64())}
}

func (c collector) restore() {
	debug.SetGCPercent(c.percent)
	debug.SetMemoryLimit(c.limit)
}

// liveHeap is the runtime metric the collector tuner reads: the heap
// the last collection found alive.
const liveHeap = "/gc/heap/live:bytes"

// gcTuner sets GOGC after every collection from the heap it found alive
// (engine.GCPercentFor), so the room the heap may grow by stays about
// the same whatever the cache holds. It runs on the runtime's finalizer
// goroutine, from a finalizer that each collection runs and that arms
// the next: an idle daemon, which does not collect, is not woken for it.
type gcTuner struct {
	log *slog.Logger

	mu      sync.Mutex
	stopped bool
	last    int
	sample  []metrics.Sample
}

// gcSentinel is what each collection finalizes. It holds a pointer so
// that it is not batched with other small objects, whose block could
// outlive it.
type gcSentinel struct{ _ *int }

// startGCTuner starts tuning the collector, unless GOGC is in the
// environment (a drop-in's Environment=): the administrator's choice
// stands then, and the tuner returned does nothing.
func startGCTuner(log *slog.Logger) *gcTuner {
	g := &gcTuner{log: log, sample: []metrics.Sample{{Name: liveHeap}}}
	if os.Getenv("GOGC") != "" {
		g.stopped = true
		return g
	}
	g.tune()
	g.arm()
	return g
}

// arm has the next collection call tune, and arm again.
func (g *gcTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		if g.tune() {
			g.arm()
		}
	})
}

// tune sets GOGC for the live heap the last collection measured, and
// reports whether to go on.
func (g *gcTuner) tune() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	metrics.Read(g.sample)
	var live int64
	if v := g.sample[0].Value; v.Kind() == metrics.KindUint64 {
		live = int64(v.Uint64())
	}
	if p := engine.GCPercentFor(live); p != g.last {
		debug.SetGCPercent(p)
		g.log.Debug("collector sized to the live heap", "live_bytes", live, "gogc", p)
		g.last = p
	}
	return true
}

// percent is the GOGC the tuner set last (0: none yet).
func (g *gcTuner) percent() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// stop ends the tuning; GOGC stays as last set (Run then restores what
// it found).
func (g *gcTuner) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
}
