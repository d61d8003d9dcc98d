// SPDX-License-Identifier: Apache-2.0

package limit

import (
	"sync"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// Rate is a token bucket per uid: each uid may have perSecond decisions a
// second on average, and burst at once. A request for n decisions is
// admitted while the uid's bucket is not empty and may take it below
// zero, so a large batch (a CheckMany) is possible but paid for before
// the next is admitted: over any period the uid gets at most burst plus
// perSecond times its length, plus one batch.
//
// Refusals the caller reports with Refuse are counted per uid for Drain,
// to be accounted for once per interval rather than once per call.
type Rate struct {
	perSecond float64
	burst     float64
	now       func() time.Time

	mu      sync.Mutex
	buckets map[uint32]*bucket
	refused map[uint32]*Refusals
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Refusals are the requests of one uid refused since the last Drain.
type Refusals struct {
	UID   uint32
	Calls uint64       // requests refused
	Last  proc.Process // the process of the last one
}

// NewRate returns a limiter of perSecond decisions a second per uid, with
// bursts of up to burst. perSecond <= 0 admits everything. now is the
// clock; nil means time.Now.
func NewRate(perSecond float64, burst int, now func() time.Time) *Rate {
	if now == nil {
		now = time.Now
	}
	if burst < 1 {
		burst = 1
	}
	return &Rate{perSecond: perSecond, burst: float64(burst), now: now,
		buckets: map[uint32]*bucket{}, refused: map[uint32]*Refusals{}}
}

// PerSecond is the limit's rate; 0 means none.
func (r *Rate) PerSecond() float64 { return max(r.perSecond, 0) }

// Allow reports whether p's uid may have n more decisions now, and takes
// them if so. A caller that then refuses p's request (rather than exempt
// it) reports it with Refuse.
func (r *Rate) Allow(p proc.Process, n int) bool {
	if r.perSecond <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	b := r.buckets[p.UID]
	if b == nil {
		b = &bucket{tokens: r.burst, at: now}
		r.buckets[p.UID] = b
	}
	b.tokens = min(r.burst, b.tokens+now.Sub(b.at).Seconds()*r.perSecond)
	b.at = now
	if b.tokens > 0 {
		b.tokens -= float64(n)
		return true
	}
	return false
}

// Refuse counts a request of p refused over the limit.
func (r *Rate) Refuse(p proc.Process) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := r.refused[p.UID]
	if ref == nil {
		ref = &Refusals{UID: p.UID}
		r.refused[p.UID] = ref
	}
	ref.Calls++
	ref.Last = p
}

// Drain returns the refusals counted since the last Drain, one entry per
// uid, and forgets the buckets that have refilled (so the map holds only
// uids active within the last burst/perSecond seconds).
func (r *Rate) Drain() []Refusals {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Refusals, 0, len(r.refused))
	for _, ref := range r.refused {
		out = append(out, *ref)
	}
	clear(r.refused)
	now := r.now()
	for uid, b := range r.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*r.perSecond >= r.burst {
			delete(r.buckets, uid)
		}
	}
	return out
}
