// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
)

// objectLog records the object of each audit record, and refuses the
// records about one object.
type objectLog struct {
	mu      sync.Mutex
	names   []string // the objects audited, in order
	batches []int    // the size of each AuditMany call (batchObjectLog)
	refuse  string   // the object whose records are refused
}

var errRefused = errors.New("record refused")

func (a *objectLog) Audit(_ context.Context, r Request, _ Decision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.note(r)
}

func (a *objectLog) note(r Request) error {
	a.names = append(a.names, r.Object.Name())
	if r.Object.Name() == a.refuse {
		return errRefused
	}
	return nil
}

func (a *objectLog) log() (names []string, batches []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.names), slices.Clone(a.batches)
}

// batchObjectLog is an objectLog that also takes batches.
type batchObjectLog struct{ *objectLog }

func (b batchObjectLog) AuditMany(_ context.Context, ds iter.Seq2[Request, Decision]) []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	refused := false
	for r := range ds {
		err := b.note(r)
		refused = refused || err != nil
		errs = append(errs, err)
	}
	b.batches = append(b.batches, len(errs))
	if !refused {
		return nil
	}
	return errs
}

// sixVMs are alice-0, bob-1, ..., bob-5; ownedByAlice allows alice's.
func sixVMs(t testing.TB) []acl.Object {
	objs := make([]acl.Object, 6)
	for i := range objs {
		objs[i] = domainObj(t, fmt.Sprintf("%s-%d", []string{"alice", "bob"}[i%2], i), i)
	}
	return objs
}

func ownedByAlice() *scripted {
	return &scripted{name: "polkit", answer: func(r Request) (bool, error) {
		return strings.HasPrefix(r.Object.Name(), "alice-"), nil
	}}
}

func TestCheckManyCachedAndFresh(t *testing.T) {
	asked := Origin{FrontEnd: "guard", Operation: "DOMAIN_GET_INFO"}
	listing := Origin{FrontEnd: "guard", Operation: "CONNECT_LIST_ALL_DOMAINS", Listing: true}
	all := []int{0, 1, 2, 3, 4, 5}
	tests := []struct {
		name    string
		warm    []int // objects decided (and cached) before
		retire  bool
		batch   bool // the auditor takes batches
		refuse  string
		origin  Origin
		down    bool // the driver cannot decide
		calls   int  // driver calls CheckMany makes
		cached  []int
		records []string // the objects audited by CheckMany, in order
		batches []int
		failed  []int // objects denied for a refused record
	}{
		{name: "all cached", warm: all, origin: asked, cached: all,
			records: []string{"alice-0", "bob-1", "alice-2", "bob-3", "alice-4", "bob-5"}},
		{name: "all cached, batch auditor", warm: all, batch: true, origin: asked, cached: all,
			records: []string{"alice-0", "bob-1", "alice-2", "bob-3", "alice-4", "bob-5"}, batches: []int{6}},
		{name: "mixed", warm: []int{0, 3, 4}, origin: asked, calls: 3, cached: []int{0, 3, 4}},
		{name: "mixed, batch auditor", warm: []int{0, 3, 4}, batch: true, origin: asked, calls: 3, cached: []int{0, 3, 4},
			batches: []int{3}},
		{name: "all misses", origin: asked, calls: 6},
		{name: "all misses, batch auditor", batch: true, origin: asked, calls: 6},
		{name: "listing audits only fresh decisions", warm: []int{0, 3, 4}, origin: listing, calls: 3, cached: []int{0, 3, 4},
			records: []string{"bob-1", "alice-2", "bob-5"}},
		{name: "listing, all cached", warm: all, batch: true, origin: listing, cached: all, records: []string{}},
		{name: "retired engine decides afresh", warm: all, retire: true, origin: asked, calls: 6},
		{name: "cached record refused", warm: all, refuse: "alice-2", origin: asked, cached: all, failed: []int{2},
			records: []string{"alice-0", "bob-1", "alice-2", "bob-3", "alice-4", "bob-5"}},
		{name: "cached record refused, batch auditor", warm: all, batch: true, refuse: "alice-2", origin: asked, cached: all,
			failed: []int{2}, records: []string{"alice-0", "bob-1", "alice-2", "bob-3", "alice-4", "bob-5"}, batches: []int{6}},
		{name: "fresh record refused, batch auditor", warm: []int{0}, batch: true, refuse: "alice-2", origin: asked, calls: 5,
			cached: []int{0}, failed: []int{2}, batches: []int{1}},
		{name: "driver unavailable", down: true, origin: asked, calls: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := sixVMs(t)
			drv := ownedByAlice()
			log := &objectLog{refuse: tt.refuse}
			var aud Auditor = log
			if tt.batch {
				aud = batchObjectLog{log}
			}
			e := newEngine(t, 64, aud, drv)
			getattr := permission(t, acl.Domain, "getattr")
			for _, i := range tt.warm {
				if _, err := e.Check(context.Background(), Request{Subject: subject, Object: objs[i], Permission: getattr}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.retire {
				e.Retire()
			}
			if tt.down {
				drv.answer = func(Request) (bool, error) { return false, errors.New("polkit down") }
			}
			callsBefore := drv.calls.Load()
			recordsBefore, _ := log.log()
			before := e.Stats()

			ds, err := e.CheckMany(context.Background(), subject, getattr, objs, tt.origin)
			if err != nil {
				t.Fatal(err)
			}
			if got := int(drv.calls.Load() - callsBefore); got != tt.calls {
				t.Errorf("driver asked %d times, want %d", got, tt.calls)
			}
			for i, d := range ds {
				want := Decision{Allowed: i%2 == 0, Reason: Granted, Driver: "polkit", Cached: slices.Contains(tt.cached, i)}
				switch {
				case slices.Contains(tt.failed, i):
					want = Decision{Reason: AuditFailed, Driver: "polkit", Cached: want.Cached}
				case tt.down:
					want = Decision{Reason: Unavailable, Driver: "polkit"}
				case !want.Allowed:
					want.Reason = Policy
				}
				got := d
				got.Err = nil
				if got != want || (want.Reason == AuditFailed || want.Reason == Unavailable) != (d.Err != nil) {
					t.Errorf("object %d (%s): %+v, want %+v", i, objs[i].Name(), d, want)
				}
			}
			names, batches := log.log()
			names = names[len(recordsBefore):]
			if tt.calls > 0 { // fresh decisions are made, and audited, in parallel
				slices.Sort(names)
				slices.Sort(tt.records)
			}
			if tt.records != nil && !slices.Equal(names, tt.records) {
				t.Errorf("audited %q, want %q", names, tt.records)
			}
			if tt.records == nil && len(names) != len(objs) {
				t.Errorf("%d records for %d decisions: %q", len(names), len(objs), names)
			}
			if !slices.Equal(batches, tt.batches) {
				t.Errorf("batches of %v records, want %v", batches, tt.batches)
			}
			after := e.Stats()
			if got := after.Decisions - before.Decisions; got != uint64(len(objs)) {
				t.Errorf("%d decisions counted, want %d", got, len(objs))
			}
			if got := after.Cache.Hits - before.Cache.Hits; got != uint64(len(tt.cached)) {
				t.Errorf("%d cache hits counted, want %d", got, len(tt.cached))
			}
			if got := after.AuditFailed - before.AuditFailed; got != uint64(len(tt.failed)) {
				t.Errorf("%d refused records counted, want %d", got, len(tt.failed))
			}
			if got := after.Latency.Count - before.Latency.Count; got != uint64(len(objs)) {
				t.Errorf("%d latencies observed, want %d", got, len(objs))
			}
		})
	}
}

// newParallelEngine returns an engine caching allows, deciding with drv
// at most parallel at a time in CheckMany.
func newParallelEngine(t *testing.T, drv Driver, parallel int) *Engine {
	t.Helper()
	c, err := authcache.New(authcache.Options{Size: 64, AllowTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Drivers: []Driver{drv}, Cache: c, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// TestCheckManyCancelled: a client that hangs up gets no decisions; what
// was cached is not audited, and nothing more is asked of the drivers.
func TestCheckManyCancelled(t *testing.T) {
	t.Run("before, all cached", func(t *testing.T) {
		log := &objectLog{}
		e := newEngine(t, 64, batchObjectLog{log}, ownedByAlice())
		objs, getattr := sixVMs(t), permission(t, acl.Domain, "getattr")
		if _, err := e.CheckMany(context.Background(), subject, getattr, objs, Origin{}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ds, err := e.CheckMany(ctx, subject, getattr, objs, Origin{})
		if !errors.Is(err, context.Canceled) || ds != nil {
			t.Errorf("CheckMany on a cancelled context: %v, %v", ds, err)
		}
		if names, _ := log.log(); len(names) != len(objs) {
			t.Errorf("%d records after the cancelled call, want the first call's %d", len(names), len(objs))
		}
	})
	t.Run("mid-way", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		drv := &scripted{name: "polkit"}
		drv.answer = func(Request) (bool, error) {
			if drv.calls.Load() == 2 {
				cancel()
			}
			return true, nil
		}
		e := newParallelEngine(t, drv, 1)
		objs := sixVMs(t)
		ds, err := e.CheckMany(ctx, subject, permission(t, acl.Domain, "getattr"), objs, Origin{})
		if !errors.Is(err, context.Canceled) || ds != nil {
			t.Errorf("CheckMany cancelled mid-way: %v, %v", ds, err)
		}
		if n := drv.calls.Load(); n != 2 {
			t.Errorf("driver asked %d times; the client hung up during the 2nd", n)
		}
	})
}

// gate is a driver that holds every call until released, counting the
// calls in flight.
type gate struct {
	release  chan struct{}
	calls    atomic.Int64
	inFlight atomic.Int64
	most     atomic.Int64
}

func (g *gate) Name() string { return "polkit" }
func (g *gate) Check(context.Context, Request) (bool, error) {
	g.calls.Add(1)
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for cur := g.most.Load(); n > cur && !g.most.CompareAndSwap(cur, n); cur = g.most.Load() {
	}
	<-g.release
	return true, nil
}

// TestCheckManyBoundsAndShares: at most Parallel driver calls at once,
// and concurrent calls asking the same share each decision.
func TestCheckManyBoundsAndShares(t *testing.T) {
	g := &gate{release: make(chan struct{})}
	e := newParallelEngine(t, g, 2)
	objs, getattr := sixVMs(t), permission(t, acl.Domain, "getattr")
	var wg sync.WaitGroup
	results := make([][]Decision, 2)
	for k := range results {
		wg.Go(func() {
			ds, err := e.CheckMany(context.Background(), subject, getattr, objs, Origin{})
			if err != nil {
				t.Error(err)
			}
			results[k] = ds
		})
	}
	for deadline := time.Now().Add(5 * time.Second); g.inFlight.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("no driver calls started")
		}
		time.Sleep(time.Millisecond)
	}
	// Both calls wait on the same two objects' flights: no third starts.
	time.Sleep(50 * time.Millisecond)
	if n := g.inFlight.Load(); n != 2 {
		t.Errorf("%d driver calls at once, want 2: two calls of Parallel 2 sharing their first objects", n)
	}
	close(g.release)
	wg.Wait()
	if n := g.most.Load(); n > 4 {
		t.Errorf("%d driver calls at once for two CheckMany calls of Parallel 2", n)
	}
	// Later decisions are shared or cached too, but for a call that
	// missed the cache just before the other's flight ended (both are
	// then asked).
	if n := g.calls.Load(); n >= 2*int64(len(objs)) {
		t.Errorf("driver asked %d times for %d objects asked twice at once: nothing shared", n, len(objs))
	}
	for k, ds := range results {
		if len(ds) != len(objs) {
			t.Fatalf("call %d: %d decisions", k, len(ds))
		}
		for i, d := range ds {
			if !d.Allowed {
				t.Errorf("call %d, object %d: %+v", k, i, d)
			}
		}
	}
}

// TestCheckManyStraddlingAFlush: a decision found in the cache is not
// served, nor audited, when the cache is flushed while the list's other
// objects are decided: a reload (which retires the engine) or polkit's
// Changed signal means to drop it. It is decided again.
func TestCheckManyStraddlingAFlush(t *testing.T) {
	own, slow := domainObj(t, "alice-0", 0), domainObj(t, "slow-1", 1)
	for _, tc := range []struct {
		name  string
		flush func(*Engine)
	}{
		{"reload", (*Engine).Retire},
		{"polkit changed", func(e *Engine) { e.invalidate("polkit-changed") }},
		{"object flushed", func(e *Engine) { e.FlushObject(own) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started, release := make(chan struct{}, 1), make(chan struct{})
			drv := &scripted{name: "polkit", answer: func(r Request) (bool, error) {
				if r.Object.Name() == slow.Name() {
					started <- struct{}{}
					<-release
				}
				return true, nil
			}}
			log := &objectLog{}
			e := newEngine(t, 64, batchObjectLog{log}, drv)
			getattr := permission(t, acl.Domain, "getattr")
			if _, err := e.Check(context.Background(), Request{Subject: subject, Object: own, Permission: getattr}); err != nil {
				t.Fatal(err)
			}
			done := make(chan []Decision, 1)
			go func() {
				ds, err := e.CheckMany(context.Background(), subject, getattr, []acl.Object{slow, own}, Origin{})
				if err != nil {
					t.Error(err)
				}
				done <- ds
			}()
			<-started
			tc.flush(e)
			close(release)
			ds := <-done
			if len(ds) != 2 || !ds[1].Allowed || ds[1].Cached {
				t.Fatalf("decisions %+v; want alice-0 decided afresh after the flush", ds)
			}
			if n := drv.calls.Load(); n != 3 {
				t.Errorf("driver asked %d times, want 3: alice-0 twice, slow-1 once", n)
			}
			names, batches := log.log()
			if n := strings.Count(strings.Join(names, " "), own.Name()); n != 2 || len(batches) != 0 {
				t.Errorf("records %q, batches %v; want alice-0 audited when first decided and when decided again, "+
					"never as served from the flushed cache", names, batches)
			}
		})
	}
}
