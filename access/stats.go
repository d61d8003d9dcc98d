// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
)

// Stats are the engine's counters since it was created.
type Stats struct {
	Decisions   uint64 // decisions made (allowed + denied)
	Allowed     uint64
	Denied      uint64 // all denies, whatever the reason
	Unavailable uint64 // denies because a driver could not decide
	AuditFailed uint64 // denies because a required audit record was refused
	Invalid     uint64 // requests refused as malformed
	// Invalidations counts cache flushes by cause ("polkit-changed",
	// "polkit-restarted", "request", ...).
	Invalidations map[string]uint64
	Cache         authcache.Stats
	Drivers       []DriverStats
	Latency       LatencyStats
	// Audit holds the auditor's counters, when it keeps them (the kernel
	// audit writer does); nil otherwise.
	Audit *audit.Stats
}

// DriverStats count one driver's calls. For the polkit driver, Calls are
// CheckAuthorization round trips.
type DriverStats struct {
	Name   string
	Calls  uint64
	Errors uint64
	Denied uint64
}

// LatencyStats summarise decision latency (cached or not), as seen by the
// engine's callers.
type LatencyStats struct {
	Count         uint64
	Mean, P50     time.Duration
	P99, P999     time.Duration
	Max           time.Duration
	BucketsFactor float64 // quantiles are upper bounds of buckets this wide
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	s := Stats{
		Allowed:       e.stats.allowed.Load(),
		Denied:        e.stats.denied.Load(),
		Unavailable:   e.stats.unavailable.Load(),
		AuditFailed:   e.stats.auditFailed.Load(),
		Invalid:       e.stats.invalid.Load(),
		Invalidations: e.stats.invalidationCounts(),
		Cache:         e.cache.Stats(),
		Latency:       e.stats.latency.summary(),
	}
	s.Decisions = s.Allowed + s.Denied
	if a, ok := e.auditor.(AuditCounter); ok {
		st := a.AuditStats()
		s.Audit = &st
	}
	for i := range e.drivers {
		d := &e.drivers[i]
		s.Drivers = append(s.Drivers, DriverStats{d.Name(), d.calls.Load(), d.errors.Load(), d.denied.Load()})
	}
	return s
}

type engineCounters struct {
	allowed, denied, unavailable, auditFailed, invalid atomic.Uint64
	latency                                            histogram

	mu            sync.Mutex
	invalidations map[string]uint64
}

func (c *engineCounters) record(d Decision, took time.Duration) {
	if d.Allowed {
		c.allowed.Add(1)
	} else {
		c.denied.Add(1)
	}
	if d.Reason == Unavailable {
		c.unavailable.Add(1)
	}
	c.latency.observe(took)
}

// recordCached counts the cached decisions in ds at the indexes hits,
// served together in took: each is observed as taking its share.
func (c *engineCounters) recordCached(ds []Decision, hits []int, took time.Duration) {
	allowed := 0
	for _, i := range hits {
		if ds[i].Allowed {
			allowed++
		}
	}
	n := len(hits)
	c.allowed.Add(uint64(allowed))
	c.denied.Add(uint64(n - allowed))
	c.latency.observeN(took/time.Duration(n), uint64(n))
}

func (c *engineCounters) countInvalidation(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.invalidations == nil {
		c.invalidations = map[string]uint64{}
	}
	c.invalidations[reason]++
}

func (c *engineCounters) invalidationCounts() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]uint64, len(c.invalidations))
	for k, v := range c.invalidations {
		m[k] = v
	}
	return m
}

// driverStats wraps a driver with counters.
type driverStats struct {
	Driver
	calls, errors, denied atomic.Uint64
}

func (d *driverStats) check(ctx context.Context, r Request) (bool, error) {
	d.calls.Add(1)
	ok, err := d.Driver.Check(ctx, r)
	switch {
	case err != nil:
		d.errors.Add(1)
		return false, err
	case !ok:
		d.denied.Add(1)
	}
	return ok, nil
}

// histogram counts durations in exponential buckets: bucket i holds
// durations up to base*factor^i. Lock-free, so observing costs a few atomic
// adds on the decision path.
type histogram struct {
	buckets [histBuckets]atomic.Uint64
	count   atomic.Uint64
	sumNS   atomic.Uint64
	maxNS   atomic.Uint64
}

const (
	histBuckets = 128
	histBaseNS  = 100.0 // first bucket: up to 100 ns
	histFactor  = 1.2   // 128 buckets reach beyond 100 s
)

func (h *histogram) observe(d time.Duration) { h.observeN(d, 1) }

// observeN observes d n times.
func (h *histogram) observeN(d time.Duration, n uint64) {
	ns := uint64(max(d, 0))
	i := 0
	if float64(ns) > histBaseNS {
		i = int(math.Ceil(math.Log(float64(ns)/histBaseNS) / math.Log(histFactor)))
	}
	h.buckets[min(i, histBuckets-1)].Add(n)
	h.count.Add(n)
	h.sumNS.Add(ns * n)
	for {
		cur := h.maxNS.Load()
		if ns <= cur || h.maxNS.CompareAndSwap(cur, ns) {
			break
		}
	}
}

func (h *histogram) summary() LatencyStats {
	s := LatencyStats{Count: h.count.Load(), Max: time.Duration(h.maxNS.Load()), BucketsFactor: histFactor}
	if s.Count == 0 {
		return s
	}
	s.Mean = time.Duration(h.sumNS.Load() / s.Count)
	s.P50, s.P99, s.P999 = h.quantile(0.5), h.quantile(0.99), h.quantile(0.999)
	return s
}

func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	var counts [histBuckets]uint64
	for i := range counts {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, n := range counts {
		seen += n
		if seen >= rank && n > 0 {
			return min(time.Duration(histBaseNS*math.Pow(histFactor, float64(i))), time.Duration(h.maxNS.Load()))
		}
	}
	return time.Duration(h.maxNS.Load())
}
