// SPDX-License-Identifier: Apache-2.0

package authcache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// clock is a fake time source for TTL tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newCache(t *testing.T, size int, allow, deny time.Duration) (*Cache, *clock) {
	t.Helper()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c, err := New(Options{Size: size, AllowTTL: allow, DenyTTL: deny, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func domain(t testing.TB, name, uuid string) acl.Object {
	t.Helper()
	o, err := acl.NewObject(acl.Domain, "QEMU", map[string]string{"domain_name": name, "domain_uuid": uuid})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func perm(t testing.TB, name string) acl.Permission {
	t.Helper()
	p, err := acl.ParsePermission(acl.Domain, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	uuid1 = "11111111-1111-1111-1111-111111111111"
	uuid2 = "22222222-2222-2222-2222-222222222222"
)

// decider counts calls and returns a fixed answer.
type decider struct {
	calls atomic.Int64
	d     Decision
	err   error
}

func (f *decider) decide() (Decision, error) { f.calls.Add(1); return f.d, f.err }

// lookupOrDecide serves k from the cache or, on a miss, decides it, as
// the access engine does.
func lookupOrDecide(ctx context.Context, c *Cache, k Key, decide func() (Decision, error)) (Decision, bool, error) {
	if d, ok := c.Lookup(k); ok {
		return d, true, nil
	}
	d, err := c.Decide(ctx, k, decide)
	return d, false, err
}

func do(t *testing.T, c *Cache, k Key, f *decider) (Decision, bool, error) {
	t.Helper()
	return lookupOrDecide(context.Background(), c, k, f.decide)
}

func TestTTLs(t *testing.T) {
	tests := []struct {
		name      string
		allowed   bool
		allowTTL  time.Duration
		denyTTL   time.Duration
		freshFor  time.Duration // 0: never cached
		wantCalls int64         // after three lookups: at t0, t0+freshFor-1ns, t0+freshFor
	}{
		{"allow cached for its TTL", true, 30 * time.Second, 10 * time.Second, 30 * time.Second, 2},
		{"deny cached for its TTL", false, 30 * time.Second, 10 * time.Second, 10 * time.Second, 2},
		{"allow TTL 0 caches no allow", true, 0, 10 * time.Second, 0, 3},
		{"deny TTL 0 caches no deny", false, 30 * time.Second, 0, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newCache(t, 16, tt.allowTTL, tt.denyTTL)
			f := &decider{d: Decision{Allowed: tt.allowed, Driver: "polkit"}}
			k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
			if _, cached, _ := do(t, c, k, f); cached {
				t.Fatal("first lookup reported cached")
			}
			clk.Advance(tt.freshFor - time.Nanosecond)
			d, cached, err := do(t, c, k, f)
			if err != nil || d != f.d || cached != (tt.freshFor > 0) {
				t.Fatalf("second lookup = %+v, cached %v, %v", d, cached, err)
			}
			clk.Advance(time.Nanosecond)
			if _, cached, _ := do(t, c, k, f); cached {
				t.Fatal("expired entry served")
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Errorf("decide called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestErrorsAreNeverCached(t *testing.T) {
	c, _ := newCache(t, 16, time.Minute, time.Minute)
	boom := errors.New("authorization service unavailable")
	f := &decider{err: boom}
	k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	for i := 0; i < 2; i++ {
		if _, _, err := do(t, c, k, f); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	}
	if f.calls.Load() != 2 || c.Len() != 0 {
		t.Errorf("calls %d, entries %d: an error was cached", f.calls.Load(), c.Len())
	}
}

func TestDisabledCacheAlwaysDecides(t *testing.T) {
	c, _ := newCache(t, 0, time.Minute, time.Minute)
	f := &decider{d: Decision{Allowed: true}}
	k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	for i := 0; i < 3; i++ {
		if _, cached, _ := do(t, c, k, f); cached {
			t.Fatal("disabled cache served an answer")
		}
	}
	if f.calls.Load() != 3 {
		t.Errorf("decide called %d times, want 3", f.calls.Load())
	}
	c.Flush()
	c.FlushUID(1000)
}

func TestKeysSeparateWhatPolkitSees(t *testing.T) {
	c, _ := newCache(t, 16, time.Minute, time.Minute)
	f := &decider{d: Decision{Allowed: true}}
	base := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	do(t, c, base, f)
	others := map[string]Key{
		"other uid":        NewKey(1001, domain(t, "demo", uuid1), perm(t, "start")),
		"other permission": NewKey(1000, domain(t, "demo", uuid1), perm(t, "stop")),
		"other object":     NewKey(1000, domain(t, "demo", uuid2), perm(t, "start")),
		"renamed object":   NewKey(1000, domain(t, "evil", uuid1), perm(t, "start")),
	}
	for name, k := range others {
		if _, ok := c.Get(k); ok {
			t.Errorf("%s: answered from another key's entry", name)
		}
	}
}

func TestEvictionsCounted(t *testing.T) {
	c, _ := newCache(t, 2, time.Minute, time.Minute)
	f := &decider{d: Decision{Allowed: true}}
	for _, p := range []string{"start", "stop", "reset"} {
		do(t, c, NewKey(1000, domain(t, "demo", uuid1), perm(t, p)), f)
	}
	if s := c.Stats(); s.Evictions != 1 || s.Entries != 2 {
		t.Errorf("stats %+v, want 1 eviction and 2 entries", s)
	}
}

func TestInvalidation(t *testing.T) {
	c, _ := newCache(t, 16, time.Minute, time.Minute)
	f := &decider{d: Decision{Allowed: true}}
	vm1, vm2 := domain(t, "one", uuid1), domain(t, "two", uuid2)
	keys := []Key{
		NewKey(1000, vm1, perm(t, "start")), NewKey(1000, vm2, perm(t, "start")),
		NewKey(1001, vm1, perm(t, "start")), NewKey(1001, vm2, perm(t, "start")),
	}
	fill := func() {
		for _, k := range keys {
			do(t, c, k, f)
		}
	}
	present := func() (n int) {
		for _, k := range keys {
			if _, ok := c.Get(k); ok {
				n++
			}
		}
		return n
	}
	fill()
	if n := c.FlushUID(1000); n != 2 || present() != 2 {
		t.Errorf("FlushUID removed %d, %d left; want 2 and 2", n, present())
	}
	fill()
	if n := c.FlushObject(vm1.Identity()); n != 2 || present() != 2 {
		t.Errorf("FlushObject removed %d, %d left; want 2 and 2", n, present())
	}
	fill()
	c.Flush()
	if present() != 0 {
		t.Error("Flush left entries")
	}
	if got := c.Stats().Invalidations; got != 3 {
		t.Errorf("invalidations = %d, want 3", got)
	}
}

// TestConcurrentMissesDecideOnce: many callers missing on one key share a
// single call of decide.
func TestConcurrentMissesDecideOnce(t *testing.T) {
	c, _ := newCache(t, 16, time.Minute, time.Minute)
	release := make(chan struct{})
	var calls atomic.Int64
	decide := func() (Decision, error) {
		calls.Add(1)
		<-release
		return Decision{Allowed: true}, nil
	}
	k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	const n = 32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, _, err := lookupOrDecide(context.Background(), c, k, decide); err != nil || !d.Allowed {
				t.Errorf("Do = %+v, %v", d, err)
			}
		}()
	}
	for c.Stats().Misses < n {
		time.Sleep(time.Millisecond)
	}
	// Counted misses are a step before joining the flight; give the last
	// ones time to join before the decision completes.
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("decide called %d times for %d concurrent misses, want 1", calls.Load(), n)
	}
}

// TestInvalidationOvertakesDecision: a decision made under the old policy
// is not stored, whatever the invalidation (any of them stops every
// decision in flight caching), and callers after it do not join it: they
// decide anew, and theirs is stored.
func TestInvalidationOvertakesDecision(t *testing.T) {
	obj := domain(t, "demo", uuid1)
	for _, tc := range []struct {
		name       string
		invalidate func(*Cache)
	}{
		{"flush", (*Cache).Flush},
		{"its uid", func(c *Cache) { c.FlushUID(1000) }},
		{"another uid", func(c *Cache) { c.FlushUID(1001) }},
		{"its object", func(c *Cache) { c.FlushObject(obj.Identity()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCache(t, 16, time.Minute, time.Minute)
			started, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int64
			decide := func() (Decision, error) {
				if calls.Add(1) == 1 {
					close(started)
					<-release
					return Decision{Allowed: true, Driver: "old"}, nil
				}
				return Decision{Allowed: true, Driver: "new"}, nil
			}
			k := NewKey(1000, obj, perm(t, "start"))
			done := make(chan struct{})
			go func() {
				defer close(done)
				lookupOrDecide(context.Background(), c, k, decide)
			}()
			<-started
			tc.invalidate(c)
			// A caller after the flush must make its own decision, not wait for the old one.
			if d, cached, err := lookupOrDecide(context.Background(), c, k, decide); cached || err != nil || d.Driver != "new" {
				t.Fatalf("after the invalidation: %+v, cached %v, %v; want a decision of its own", d, cached, err)
			}
			close(release)
			<-done
			if calls.Load() != 2 {
				t.Errorf("decide called %d times, want 2", calls.Load())
			}
			if s := c.Stats(); s.Discarded != 1 {
				t.Errorf("discarded = %d, want 1 (the pre-flush decision)", s.Discarded)
			}
			if d, ok := c.Get(k); !ok || d.Driver != "new" {
				t.Errorf("cached %+v (%v), want the decision made after the invalidation", d, ok)
			}
		})
	}
}

// TestDecideDoesNotLookAgain: Decide is for a caller that just missed,
// and decides without a second lookup, even if the key is cached by now.
func TestDecideDoesNotLookAgain(t *testing.T) {
	c, _ := newCache(t, 16, time.Minute, time.Minute)
	k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	first := &decider{d: Decision{Allowed: true, Driver: "first"}}
	if _, _, err := do(t, c, k, first); err != nil {
		t.Fatal(err)
	}
	second := &decider{d: Decision{Allowed: false, Driver: "second"}}
	d, err := c.Decide(context.Background(), k, second.decide)
	if err != nil || d != second.d || second.calls.Load() != 1 {
		t.Fatalf("Decide = %+v, %v after %d calls; want the decider's answer", d, err, second.calls.Load())
	}
	if s := c.Stats(); s.Hits != 0 || s.Misses != 2 {
		t.Errorf("hits %d, misses %d; want 0 and 2 (each Decide is a miss)", s.Hits, s.Misses)
	}
}

func TestCallerContextEnds(t *testing.T) {
	c, _ := newCache(t, 16, time.Minute, time.Minute)
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	_, _, err := lookupOrDecide(ctx, c, k, func() (Decision, error) { <-release; return Decision{Allowed: true}, nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNewRejectsNegativeOptions(t *testing.T) {
	for _, o := range []Options{{Size: -1}, {Size: 1, AllowTTL: -1}, {Size: 1, DenyTTL: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func BenchmarkHit(b *testing.B) {
	c, err := New(Options{Size: 1 << 16, AllowTTL: time.Hour, DenyTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	k := NewKey(1000, domain(b, "demo", uuid1), perm(b, "start"))
	decide := func() (Decision, error) { return Decision{Allowed: true}, nil }
	lookupOrDecide(context.Background(), c, k, decide)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, cached, _ := lookupOrDecide(context.Background(), c, k, decide); !cached {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkMemory reports the heap a full cache of 100,000 decisions holds,
// per entry.
func BenchmarkMemory(b *testing.B) {
	const n = 100_000
	objs := make([]acl.Object, n)
	for i := range objs {
		objs[i] = domain(b, fmt.Sprintf("vm-%d", i), fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	start := perm(b, "start")
	decide := func() (Decision, error) { return Decision{Allowed: true, Driver: "polkit"}, nil }
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := New(Options{Size: n, AllowTTL: time.Hour, DenyTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range objs {
			lookupOrDecide(context.Background(), c, NewKey(1000, o, start), decide)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/entry")
		runtime.KeepAlive(c)
	}
}

// TestFlushLeavesNothingStale races decisions against invalidations:
// a decision is "allowed" when made in an even epoch, "denied" in an odd
// one, and each Flush starts the next epoch. Once Flush has returned, no
// lookup may find a decision of an earlier epoch: one stored between
// the generation check and Add could be served until store noticed.
func TestFlushLeavesNothingStale(t *testing.T) {
	c, err := New(Options{Size: 100, AllowTTL: time.Hour, DenyTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]Key, 4)
	for i := range keys {
		keys[i] = NewKey(uint32(1000+i), domain(t, "demo", uuid1), perm(t, "start"))
	}
	var epoch atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				c.Decide(context.Background(), keys[(g+i)%len(keys)], func() (Decision, error) {
					return Decision{Allowed: epoch.Load()%2 == 0, Driver: "polkit"}, nil
				})
			}
		}()
	}
	for ctx.Err() == nil {
		e := epoch.Add(1)
		c.Flush()
		for _, k := range keys {
			if d, ok := c.Lookup(k); ok && d.Allowed != (e%2 == 0) {
				t.Fatalf("after the flush that began epoch %d, a decision of an earlier one was served: %+v", e, d)
			}
		}
	}
	wg.Wait()
}
