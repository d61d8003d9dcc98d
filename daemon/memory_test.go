// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
)

// TestGCTunerFollowsTheLiveHeap: after each collection the tuner sets
// GOGC for the heap that collection found alive: the floor while a large
// heap is alive, more once it is gone; and once stopped it sets nothing
// more. (What else the test process keeps alive moves the values: they
// are read from the same metric the tuner reads.)
func TestGCTunerFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	start := engine.GCPercentFor(liveBytes())
	g := startGCTuner(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer g.stop()
	if got := g.percent(); got != start {
		t.Fatalf("GOGC at start = %d, want %d", got, start)
	}

	big := make([]byte, 64<<20)
	big[len(big)-1] = 1
	large := engine.GCPercentFor(int64(len(big)))
	waitPercent(t, g, "the floor", func(p int) bool { return p == large })
	runtime.KeepAlive(big)

	waitPercent(t, g, "above the floor", func(p int) bool { return p > large })

	g.stop()
	last := g.percent()
	keep := make([]byte, 64<<20)
	runtime.GC()
	runtime.GC()
	if got := g.percent(); got != last {
		t.Errorf("GOGC after stop = %d, want it left at %d", got, last)
	}
	if cur := debug.SetGCPercent(-1); cur != last {
		t.Errorf("the runtime's GOGC = %d, want %d", cur, last)
	}
	debug.SetGCPercent(last)
	runtime.KeepAlive(keep)
}

// liveBytes is the heap the last collection found alive.
func liveBytes() int64 {
	s := []metrics.Sample{{Name: liveHeap}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// waitPercent collects until the GOGC the tuner set satisfies ok, for at
// most 10 s: the finalizer that tunes runs after its collection, on its
// own goroutine.
func waitPercent(t *testing.T, g *gcTuner, what string, ok func(int) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(g.percent()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after collections, want %s", g.percent(), what)
		}
		runtime.GC()
	}
}

// TestCollectorRestored: the settings saved are the runtime's, and
// restore puts them back whatever the daemon set meanwhile, GOGC=off
// included.
func TestCollectorRestored(t *testing.T) {
	t.Setenv("GOGC", "") // the daemon tunes only without them
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, want := range []collector{{percent: 100, limit: 1 << 62}, {percent: -1, limit: 3 << 30}, {percent: 40, limit: 1 << 62}} {
		debug.SetGCPercent(want.percent)
		debug.SetMemoryLimit(want.limit)
		saved := saveCollector()
		if saved != want {
			t.Fatalf("saved %+v, want %+v", saved, want)
		}
		limitMemory(1000, slog.New(slog.DiscardHandler))
		g := startGCTuner(slog.New(slog.DiscardHandler))
		g.stop()
		if changed := saveCollector(); changed == want {
			t.Fatalf("the daemon changed nothing of %+v", want)
		}
		saved.restore()
		if got := saveCollector(); got != want {
			t.Errorf("restored %+v, want %+v", got, want)
		}
	}
}
