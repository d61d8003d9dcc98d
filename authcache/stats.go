// SPDX-License-Identifier: Apache-2.0

package authcache

import "sync/atomic"

// Stats are the cache's counters since it was created.
type Stats struct {
	Entries       int    // decisions cached now
	Hits          uint64 // answers served from the cache
	Misses        uint64 // lookups that had to decide
	Shared        uint64 // misses answered by another caller's decision in flight
	Evictions     uint64 // fresh entries pushed out because the cache was full
	Expired       uint64 // entries dropped because their TTL had passed
	Invalidations uint64 // flushes (whole cache, one uid or one object)
	Discarded     uint64 // decisions not stored because an invalidation overtook them
}

type counters struct {
	hits, misses, shared, evictions, expired, invalidations, discarded atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Entries:       c.Len(),
		Hits:          c.stats.hits.Load(),
		Misses:        c.stats.misses.Load(),
		Shared:        c.stats.shared.Load(),
		Evictions:     c.stats.evictions.Load(),
		Expired:       c.stats.expired.Load(),
		Invalidations: c.stats.invalidations.Load(),
		Discarded:     c.stats.discarded.Load(),
	}
}
