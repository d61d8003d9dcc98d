// SPDX-License-Identifier: Apache-2.0

package engine

// Go's collector lets the heap grow by GOGC percent of what it kept
// alive before it collects again. A helper with a large decision cache
// keeps mostly that cache alive, long-lived entries the collector need
// not make room for twice over: at GOGC = 100, 100,000 cached decisions
// (about 28 MiB) left the heap room for 28 MiB more, and the daemon
// 81 MiB resident. GCPercent sizes the room in bytes instead, from what
// a full cache holds, so memory tracks cache_size rather than doubling it.
const (
	// cacheEntryBytes is the heap one cached decision holds (authcache's
	// BenchmarkMemory), rounded up.
	cacheEntryBytes = 300
	// baseHeap is what the daemon holds besides the cache.
	baseHeap = 4 << 20
	// gcRoom is the heap growth allowed between collections.
	gcRoom = 12 << 20
	// minGCPercent bounds how often a full cache is scanned: at 25, once
	// per quarter of its size allocated.
	minGCPercent = 25
)

// GCPercent returns the GOGC for a process whose decision cache holds at
// most cacheSize entries: 100 (Go's default) for a small cache, less as
// the cache grows, so that a full cache leaves the heap about gcRoom to
// grow, and never under minGCPercent.
func GCPercent(cacheSize int) int {
	full := baseHeap + int64(max(cacheSize, 0))*cacheEntryBytes
	return int(min(100, max(minGCPercent, gcRoom*100/full)))
}

// MemoryLimit returns the soft memory limit (runtime/debug.SetMemoryLimit)
// for a process whose cache holds at most cacheSize entries: what a full
// cache and the rest of the daemon hold, and room for the collector and
// the runtime's own memory. Near it the collector runs sooner and the
// runtime returns freed memory to the system promptly; it is soft, so a
// large request may pass it for a while, at the price of more collection.
func MemoryLimit(cacheSize int) int64 {
	return baseHeap + int64(max(cacheSize, 0))*cacheEntryBytes + 2*gcRoom
}
