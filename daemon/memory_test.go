// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
)

// TestGCTunerFollowsTheLiveHeap: after each collection the tuner sets
// GOGC for the heap that collection found alive: the floor while a large
// heap is alive, the room of an empty cache once it is gone; and once
// stopped it sets nothing more.
func TestGCTunerFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	g := startGCTuner(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer g.stop()
	small := engine.GCPercentFor(0)
	if got := g.percent(); got != small {
		t.Fatalf("GOGC at start = %d, want %d", got, small)
	}

	big := make([]byte, 64<<20)
	big[len(big)-1] = 1
	large := engine.GCPercentFor(int64(len(big)))
	waitPercent(t, g, large)
	runtime.KeepAlive(big)

	waitPercent(t, g, small)

	g.stop()
	keep := make([]byte, 64<<20)
	runtime.GC()
	runtime.GC()
	if got := g.percent(); got != small {
		t.Errorf("GOGC after stop = %d, want it left at %d", got, small)
	}
	if cur := debug.SetGCPercent(-1); cur != small {
		t.Errorf("the runtime's GOGC = %d, want %d", cur, small)
	}
	debug.SetGCPercent(small)
	runtime.KeepAlive(keep)
}

// waitPercent collects until the tuner has set want, for at most 10 s:
// the finalizer that tunes runs after its collection, on its own
// goroutine.
func waitPercent(t *testing.T, g *gcTuner, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); g.percent() != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after collections, want %d", g.percent(), want)
		}
		runtime.GC()
	}
}
