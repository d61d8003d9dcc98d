// SPDX-License-Identifier: Apache-2.0

package engine

// Go's collector lets the heap grow by GOGC percent of what it kept
// alive before it collects again. A helper with a large decision cache
// keeps mostly that cache alive, long-lived entries the collector need
// not make room for twice over: at GOGC = 100, 100,000 cached decisions
// (about 28 MiB) left the heap room for 28 MiB more, and the daemon
// 81 MiB resident. A small heap is the opposite case: GOGC set for a
// full cache (52 for the default cache_size) had a daemon with few
// decisions cached collect every 2 MiB allocated: 18 times in 20,000
// on-behalf calls with audit off, 51 with audit on, each collection
// stopping it for up to 0.25 ms. GCPercentFor
// sizes the room in bytes instead, from what the last collection found
// alive, so memory tracks what the cache holds rather than doubling it,
// and a small heap is not collected every few megabytes.
const (
	// cacheEntryBytes is the heap one cached decision holds (authcache's
	// BenchmarkMemory), rounded up.
	cacheEntryBytes = 300
	// baseHeap is what the daemon holds besides the cache.
	baseHeap = 4 << 20
	// gcRoom is the heap growth allowed between collections: with the
	// floor below, a heap of 100,000 cached decisions grows as it did
	// at GOGC = 25, and an empty cache's heap is collected half as
	// often as at GOGC = 100, a quarter as often as at GOGC = 52.
	gcRoom = 8 << 20
	// limitRoom is what the soft memory limit allows above a full cache.
	limitRoom = 24 << 20
	// minGCPercent bounds how often a full cache is scanned: at 25, once
	// per quarter of its size allocated.
	minGCPercent = 25
)

// GCPercentFor returns the GOGC that lets a heap of which live bytes
// survived the last collection grow by about gcRoom before the next: 200
// for the heap of a daemon with an empty cache (baseHeap), less as the
// cache fills, and never under minGCPercent.
func GCPercentFor(live int64) int {
	return int(max(minGCPercent, gcRoom*100/max(live, baseHeap)))
}

// MemoryLimit returns the soft memory limit (runtime/debug.SetMemoryLimit)
// for a process whose cache holds at most cacheSize entries: what a full
// cache and the rest of the daemon hold, and room for the collector and
// the runtime's own memory. Near it the collector runs sooner and the
// runtime returns freed memory to the system promptly; it is soft, so a
// large request may pass it for a while, at the price of more collection.
func MemoryLimit(cacheSize int) int64 {
	return baseHeap + int64(max(cacheSize, 0))*cacheEntryBytes + limitRoom
}
