// SPDX-License-Identifier: Apache-2.0

// Package authcache caches access decisions for a short time, keyed by the
// subject's uid, the object and the permission.
//
// A stale allow is the dangerous direction, so entries expire (allows and
// denies after separate TTLs), the whole cache can be flushed when policy
// changes, and a decision that was being made while the cache was
// invalidated is never stored: it may reflect the old policy.
//
// A Cache is safe for concurrent use.
package authcache

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// Key identifies one cached decision. Build it with NewKey. It is a small
// fixed-size value (the object is held as digests), so a full cache of
// 100,000 decisions stays a few tens of MiB.
type Key struct {
	uid      uint32
	perm     acl.Permission
	object   acl.Digest // acl.Object.Key: everything polkit sees of the object
	identity acl.Digest // acl.Object.Identity: which object, for invalidation
	action   string     // a helper action asked instead of perm's (access.Request.Action)
}

// NewKey returns the key of the decision whether uid may use perm on obj.
func NewKey(uid uint32, obj acl.Object, perm acl.Permission) Key {
	return Key{uid: uid, perm: perm, object: obj.Key(), identity: obj.Identity()}
}

// WithAction returns k for the question asked with the helper's polkit
// action instead of the permission's: a different answer, cached apart.
func (k Key) WithAction(action string) Key {
	k.action = action
	return k
}

// UID returns the subject's uid.
func (k Key) UID() uint32 { return k.uid }

// flightKey names k for singleflight, within one cache generation.
func (k Key) flightKey(gen uint64) string {
	return strconv.FormatUint(gen, 10) + "|" + strconv.FormatUint(uint64(k.uid), 10) + "|" +
		k.perm.String() + "|" + k.action + "|" + string(k.object[:])
}

// Decision is what the cache keeps: the answer and the access driver that
// gave it (the first driver that denied, or the whole stack for an allow).
type Decision struct {
	Allowed bool
	Driver  string
}

// Options configure a Cache.
type Options struct {
	Size     int           // maximum entries; 0 disables caching
	AllowTTL time.Duration // how long an allow is served; 0: allows are not cached
	DenyTTL  time.Duration // how long a deny is served; 0: denies are not cached
	// Now returns the current time; nil means time.Now. Tests pass a fake
	// clock.
	Now func() time.Time
}

// Cache is an LRU cache of decisions with expiry.
type Cache struct {
	opts    Options
	lru     *lru.Cache[Key, entry] // nil when caching is disabled
	flights singleflight.Group
	gen     atomic.Uint64 // bumped by every invalidation
	// inval orders stores against invalidations: a store holds it shared
	// from its generation check to its Add, an invalidation exclusively,
	// so that once Flush returns no decision made before it is cached or
	// served.
	inval   sync.RWMutex
	stats   counters
	start   time.Time // entries' expiry counts from here
	drivers drivers
}

// New returns a cache configured by opts.
func New(opts Options) (*Cache, error) {
	if opts.Size < 0 || opts.AllowTTL < 0 || opts.DenyTTL < 0 {
		return nil, fmt.Errorf("authcache: negative size or TTL (size %d, allow TTL %s, deny TTL %s)",
			opts.Size, opts.AllowTTL, opts.DenyTTL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache{opts: opts, start: opts.Now()}
	if opts.Size > 0 {
		l, err := lru.New[Key, entry](opts.Size)
		if err != nil {
			return nil, fmt.Errorf("authcache: %w", err)
		}
		c.lru = l
	}
	return c, nil
}

// Get returns the fresh cached decision for k, if there is one.
func (c *Cache) Get(k Key) (Decision, bool) {
	if c.lru == nil {
		return Decision{}, false
	}
	e, ok := c.lru.Get(k)
	if !ok {
		return Decision{}, false
	}
	if c.age() >= e.expires {
		c.lru.Remove(k)
		c.stats.expired.Add(1)
		return Decision{}, false
	}
	return Decision{Allowed: e.allowed, Driver: c.drivers.name(e.driver)}, true
}

// Lookup is Get for a caller that serves the decision it finds: a hit
// is counted as one. A miss is not: the caller goes on to Decide, which
// counts it.
func (c *Cache) Lookup(k Key) (Decision, bool) {
	d, ok := c.Get(k)
	if ok {
		c.stats.hits.Add(1)
	}
	return d, ok
}

// Decide calls decide for a caller whose Lookup of k just missed,
// without looking in the cache again: a second lookup would cost as
// much as the first and find nothing but in a window of nanoseconds.
// Callers that miss on the same key at the same time share
// one call of decide. A decision is stored unless decide failed (an
// error is never cached) or the cache was invalidated while decide ran.
// If ctx ends first, Decide returns ctx's error; decide itself keeps
// running for the other callers, so it must bound its own time.
func (c *Cache) Decide(ctx context.Context, k Key, decide func() (Decision, error)) (Decision, error) {
	c.stats.misses.Add(1)
	if c.lru == nil {
		return decide()
	}
	gen := c.gen.Load()
	ch := c.flights.DoChan(k.flightKey(gen), func() (any, error) {
		d, err := decide()
		if err == nil {
			c.store(k, d, gen)
		}
		return d, err
	})
	select {
	case r := <-ch:
		if r.Shared {
			c.stats.shared.Add(1)
		}
		if r.Err != nil {
			return Decision{}, r.Err
		}
		return r.Val.(Decision), nil
	case <-ctx.Done():
		return Decision{}, ctx.Err()
	}
}

// store caches d for its TTL, unless the cache was invalidated since gen.
func (c *Cache) store(k Key, d Decision, gen uint64) {
	ttl := c.opts.DenyTTL
	if d.Allowed {
		ttl = c.opts.AllowTTL
	}
	if ttl == 0 {
		return
	}
	driver, ok := c.drivers.index(d.Driver)
	if !ok {
		return
	}
	c.inval.RLock()
	defer c.inval.RUnlock()
	if c.gen.Load() != gen {
		c.stats.discarded.Add(1)
		return
	}
	if c.lru.Add(k, entry{allowed: d.Allowed, driver: driver, expires: c.age() + ttl}) {
		c.stats.evictions.Add(1)
	}
}

// age is the time since the cache started. Sub uses the monotonic
// clock when both times carry it (time.Now's do), so setting the wall
// clock back does not extend an entry's life.
func (c *Cache) age() time.Duration { return c.opts.Now().Sub(c.start) }

// Flush drops every cached decision.
func (c *Cache) Flush() {
	c.inval.Lock()
	defer c.inval.Unlock()
	c.gen.Add(1)
	c.stats.invalidations.Add(1)
	if c.lru != nil {
		c.lru.Purge()
	}
}

// FlushUID drops every cached decision about subjects with uid.
func (c *Cache) FlushUID(uid uint32) int {
	return c.flushMatching(func(k Key) bool { return k.uid == uid })
}

// FlushObject drops every cached decision about the object with the given
// identity (acl.Object.Identity).
func (c *Cache) FlushObject(identity acl.Digest) int {
	return c.flushMatching(func(k Key) bool { return k.identity == identity })
}

func (c *Cache) flushMatching(match func(Key) bool) int {
	c.inval.Lock()
	defer c.inval.Unlock()
	c.gen.Add(1)
	c.stats.invalidations.Add(1)
	if c.lru == nil {
		return 0
	}
	n := 0
	for _, k := range c.lru.Keys() {
		if match(k) && c.lru.Remove(k) {
			n++
		}
	}
	return n
}

// Len returns the number of cached decisions, fresh or not yet noticed to
// be expired.
func (c *Cache) Len() int {
	if c.lru == nil {
		return 0
	}
	return c.lru.Len()
}
