// SPDX-License-Identifier: Apache-2.0

package access

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// These tests exercise the engine's own logic with scripted drivers; the
// polkit driver is tested against the real polkitd in polkit_test.go.

type scripted struct {
	name   string
	answer func(Request) (bool, error)
	calls  atomic.Int64
}

func (s *scripted) Name() string { return s.name }
func (s *scripted) Check(_ context.Context, r Request) (bool, error) {
	s.calls.Add(1)
	return s.answer(r)
}

func fixed(name string, ok bool, err error) *scripted {
	return &scripted{name: name, answer: func(Request) (bool, error) { return ok, err }}
}

type recorder struct {
	mu   sync.Mutex
	seen []Decision
	err  error
}

func (r *recorder) Audit(_ context.Context, _ Request, d Decision) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, d)
	return r.err
}

var subject = proc.Process{PID: 4242, UID: 1000, StartTime: 99, LoginUID: 1000, Session: 3}

func domainObj(t testing.TB, name string, n int) acl.Object {
	t.Helper()
	o, err := acl.NewObject(acl.Domain, "QEMU", map[string]string{
		"domain_name": name, "domain_uuid": fmt.Sprintf("00000000-0000-0000-0000-%012d", n)})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func permission(t testing.TB, typ acl.ObjectType, name string) acl.Permission {
	t.Helper()
	p, err := acl.ParsePermission(typ, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newEngine(t testing.TB, cacheSize int, aud Auditor, drivers ...Driver) *Engine {
	t.Helper()
	c, err := authcache.New(authcache.Options{Size: cacheSize, AllowTTL: time.Minute, DenyTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Drivers: drivers, Cache: c, Auditor: aud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func TestValidate(t *testing.T) {
	vm := domainObj(t, "demo", 1)
	start := permission(t, acl.Domain, "start")
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"permission of another type", Request{Subject: subject, Object: vm, Permission: permission(t, acl.Network, "start")}, "network:start does not apply to domain objects"},
		{"no pid", Request{Subject: proc.Process{StartTime: 1}, Object: vm, Permission: start}, "invalid pid"},
		{"no start time", Request{Subject: proc.Process{PID: 1}, Object: vm, Permission: start}, "no start time"},
		{"no permission", Request{Subject: subject, Object: vm, Permission: acl.Permission{}}, "no permission"},
		{"no object", Request{Subject: subject, Object: acl.Object{}, Permission: start}, "no object"},
		{"libvirt action", Request{Subject: subject, Object: vm, Permission: start, Action: "org.libvirt.api.domain.start"}, "is not one of the helper's"},
		{"bare prefix", Request{Subject: subject, Object: vm, Permission: start, Action: HelperActionPrefix}, "is not one of the helper's"},
	}
	e := newEngine(t, 16, nil, fixed("polkit", true, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Check(context.Background(), tt.req)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
	if e.Stats().Decisions != 0 {
		t.Error("an invalid request was decided")
	}
}

func TestStacking(t *testing.T) {
	unreachable := errors.New("polkit unreachable")
	tests := []struct {
		name        string
		drivers     []*scripted
		wantAllowed bool
		wantReason  Reason
		wantDriver  string
	}{
		{"none alone", []*scripted{fixed("none", true, nil)}, true, Granted, "none"},
		{"all allow", []*scripted{fixed("none", true, nil), fixed("polkit", true, nil)}, true, Granted, "none,polkit"},
		{"one denies", []*scripted{fixed("none", true, nil), fixed("polkit", false, nil)}, false, Policy, "polkit"},
		{"first denies", []*scripted{fixed("a", false, nil), fixed("b", false, nil)}, false, Policy, "a"},
		{"error beats deny", []*scripted{fixed("a", false, nil), fixed("polkit", true, unreachable)}, false, Unavailable, "polkit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var drivers []Driver
			for _, d := range tt.drivers {
				drivers = append(drivers, d)
			}
			e := newEngine(t, 0, nil, drivers...)
			d, err := e.Check(context.Background(), Request{Subject: subject, Object: domainObj(t, "demo", 1), Permission: permission(t, acl.Domain, "start")})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.wantAllowed || d.Reason != tt.wantReason || d.Driver != tt.wantDriver {
				t.Errorf("decision %+v, want allowed %v reason %v driver %s", d, tt.wantAllowed, tt.wantReason, tt.wantDriver)
			}
			for _, s := range tt.drivers {
				if s.calls.Load() != 1 {
					t.Errorf("driver %s asked %d times; every driver is asked once", s.name, s.calls.Load())
				}
			}
		})
	}
}

func TestCachingAndAudit(t *testing.T) {
	flaky := fixed("polkit", true, nil)
	rec := &recorder{}
	e := newEngine(t, 16, rec, flaky)
	req := Request{Subject: subject, Object: domainObj(t, "demo", 1), Permission: permission(t, acl.Domain, "start")}
	for i, wantCached := range []bool{false, true, true} {
		d, err := e.Check(context.Background(), req)
		if err != nil || !d.Allowed || d.Cached != wantCached {
			t.Fatalf("check %d: %+v, %v; want allowed, cached %v", i, d, err, wantCached)
		}
	}
	if flaky.calls.Load() != 1 {
		t.Errorf("driver asked %d times, want 1", flaky.calls.Load())
	}
	if len(rec.seen) != 3 {
		t.Errorf("%d audit records for 3 decisions", len(rec.seen))
	}
	// An unavailable answer is never cached.
	flaky.answer = func(Request) (bool, error) { return false, errors.New("down") }
	e.Flush()
	for i := 0; i < 2; i++ {
		if d, _ := e.Check(context.Background(), req); d.Reason != Unavailable || d.Cached {
			t.Fatalf("decision %+v, want uncached Unavailable", d)
		}
	}
	s := e.Stats()
	if s.Unavailable != 2 || s.Cache.Hits != 2 || s.Drivers[0].Errors != 2 || s.Invalidations["request"] != 1 {
		t.Errorf("stats %+v", s)
	}
	if s.Latency.Count != 5 || s.Latency.P50 <= 0 || s.Latency.Max < s.Latency.P50 {
		t.Errorf("latency %+v", s.Latency)
	}
}

// TestInvalidationDuringCheck: a Check that missed the cache and is
// waiting for the driver when the cache is invalidated (polkit's rules
// changed, a user's or an object's decisions flushed) answers, but its
// answer is not cached: the next Check asks the driver again.
func TestInvalidationDuringCheck(t *testing.T) {
	obj := domainObj(t, "demo", 1)
	for _, tc := range []struct {
		name       string
		invalidate func(*Engine)
	}{
		{"polkit changed", func(e *Engine) { e.invalidate("polkit-changed") }},
		{"its uid", func(e *Engine) { e.FlushUID(subject.UID) }},
		{"its object", func(e *Engine) { e.FlushObject(obj) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started, release := make(chan struct{}), make(chan struct{})
			drv := &scripted{name: "polkit", answer: func(Request) (bool, error) {
				select {
				case <-started:
				default:
					close(started)
					<-release
				}
				return true, nil
			}}
			e := newEngine(t, 16, nil, drv)
			req := Request{Subject: subject, Object: obj, Permission: permission(t, acl.Domain, "start")}
			done := make(chan Decision, 1)
			go func() {
				d, err := e.Check(context.Background(), req)
				if err != nil {
					t.Error(err)
				}
				done <- d
			}()
			<-started
			tc.invalidate(e)
			close(release)
			if d := <-done; !d.Allowed || d.Cached {
				t.Fatalf("the decision in flight: %+v, want a fresh allow", d)
			}
			for i, wantCached := range []bool{false, true} {
				if d, err := e.Check(context.Background(), req); err != nil || d.Cached != wantCached {
					t.Fatalf("check %d after it: %+v, %v; want cached %v", i, d, err, wantCached)
				}
			}
			if n := drv.calls.Load(); n != 2 {
				t.Errorf("driver asked %d times, want 2: the answer overtaken by the invalidation was not kept", n)
			}
		})
	}
}

func TestRequiredAuditFailureDenies(t *testing.T) {
	rec := &recorder{err: errors.New("kernel refused the record")}
	e := newEngine(t, 16, rec, fixed("polkit", true, nil))
	d, err := e.Check(context.Background(), Request{Subject: subject, Object: domainObj(t, "demo", 1), Permission: permission(t, acl.Domain, "start")})
	if err != nil || d.Allowed || d.Reason != AuditFailed {
		t.Errorf("decision %+v, %v; want AuditFailed deny", d, err)
	}
	if e.Stats().AuditFailed != 1 {
		t.Error("audit failure not counted")
	}
}

// watching is a driver that reports invalidation events on demand.
type watching struct {
	*scripted
	events chan string
}

func (w watching) Watch(ctx context.Context, invalidate func(string)) {
	for {
		select {
		case r := <-w.events:
			invalidate(r)
		case <-ctx.Done():
			return
		}
	}
}

func TestWatcherFlushesCache(t *testing.T) {
	w := watching{fixed("polkit", true, nil), make(chan string)}
	e := newEngine(t, 16, nil, w)
	req := Request{Subject: subject, Object: domainObj(t, "demo", 1), Permission: permission(t, acl.Domain, "start")}
	e.Check(context.Background(), req)
	w.events <- "polkit-changed"
	for deadline := time.Now().Add(5 * time.Second); e.Stats().Invalidations["polkit-changed"] == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the event did not flush the cache")
		}
		time.Sleep(time.Millisecond)
	}
	if d, _ := e.Check(context.Background(), req); d.Cached {
		t.Error("decision served from a cache that should have been flushed")
	}
}

func TestCheckMany(t *testing.T) {
	byName := &scripted{name: "polkit", answer: func(r Request) (bool, error) {
		return strings.HasPrefix(r.Object.Name(), "alice-"), nil
	}}
	e := newEngine(t, 1024, nil, byName)
	var objs []acl.Object
	for i := 0; i < 200; i++ {
		owner := []string{"alice", "bob"}[i%2]
		objs = append(objs, domainObj(t, fmt.Sprintf("%s-%d", owner, i), i))
	}
	ds, err := e.CheckMany(context.Background(), subject, permission(t, acl.Domain, "getattr"), objs, Origin{})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		if d.Allowed != (i%2 == 0) {
			t.Fatalf("object %d (%s): allowed %v", i, objs[i].Name(), d.Allowed)
		}
	}
	_, err = e.CheckMany(context.Background(), subject, permission(t, acl.Network, "read"), objs[:3], Origin{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "object 0") {
		t.Errorf("err = %v, want ErrInvalid naming object 0", err)
	}
}

// TestListingAuditsFreshDecisions: a decision filtering a list is
// audited when made, not when the cache repeats it; a request's always.
func TestListingAuditsFreshDecisions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		origin  Origin
		records int
	}{
		{"request", Origin{FrontEnd: "guard", Operation: "DOMAIN_GET_INFO"}, 6},
		{"listing", Origin{FrontEnd: "guard", Operation: "CONNECT_LIST_ALL_DOMAINS", Listing: true}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			e := newEngine(t, 16, rec, fixed("polkit", false, nil))
			objs := []acl.Object{domainObj(t, "a", 1), domainObj(t, "b", 2)}
			for range 3 {
				ds, err := e.CheckMany(context.Background(), subject, permission(t, acl.Domain, "getattr"), objs, tc.origin)
				if err != nil || len(ds) != 2 || ds[0].Allowed || ds[1].Allowed {
					t.Fatalf("CheckMany: %+v, %v", ds, err)
				}
			}
			if len(rec.seen) != tc.records {
				t.Errorf("%d audit records for 6 decisions, want %d", len(rec.seen), tc.records)
			}
		})
	}
}

func TestNewNeedsDrivers(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without drivers succeeded")
	}
}

func BenchmarkCachedCheck(b *testing.B) {
	e := newEngine(b, 1<<16, nil, fixed("polkit", true, nil))
	req := Request{Subject: subject, Object: domainObj(b, "demo", 1), Permission: permission(b, acl.Domain, "start")}
	e.Check(context.Background(), req)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, _ := e.Check(context.Background(), req); !d.Cached {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkUncachedCheck is the engine's part of a decision the cache
// does not hold, a polkit call's path short of polkit: the cache keeps
// no allow (its TTL is 0), so every Check misses and asks the driver.
func BenchmarkUncachedCheck(b *testing.B) {
	c, err := authcache.New(authcache.Options{Size: 1 << 16, DenyTTL: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{Drivers: []Driver{fixed("polkit", true, nil)}, Cache: c})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	req := Request{Subject: subject, Object: domainObj(b, "demo", 1), Permission: permission(b, acl.Domain, "start")}
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := e.Check(context.Background(), req); d.Cached || !d.Allowed {
			b.Fatalf("decision %+v, want an uncached allow", d)
		}
	}
}

// TestUnavailableWarningsAreRateLimited: polkit down at the decision rate
// must not flood the log; the held-back count is told.
func TestUnavailableWarningsAreRateLimited(t *testing.T) {
	var log bytes.Buffer
	c, _ := authcache.New(authcache.Options{})
	e, err := New(Options{Drivers: []Driver{fixed("polkit", false, errors.New("down"))}, Cache: c,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := Request{Subject: subject, Object: domainObj(t, "demo", 1), Permission: permission(t, acl.Domain, "start")}
	for i := 0; i < 100; i++ {
		if d, _ := e.Check(context.Background(), req); d.Reason != Unavailable {
			t.Fatalf("decision %+v", d)
		}
	}
	if n := strings.Count(log.String(), "access decision failed"); n != 1 {
		t.Errorf("%d warnings for 100 failed decisions within the interval, want 1:\n%s", n, log.String())
	}
}

// requests records the requests an auditor is given.
type requests struct {
	mu   sync.Mutex
	seen []Request
}

func (a *requests) Audit(_ context.Context, r Request, _ Decision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, r)
	return nil
}

func TestOriginIsAuditedNotDecided(t *testing.T) {
	drv := fixed("polkit", true, nil)
	aud := &requests{}
	e := newEngine(t, 16, aud, drv)
	req := Request{Subject: subject, Object: domainObj(t, "demo", 1), Permission: permission(t, acl.Domain, "start")}
	guarded := req
	guarded.Origin = Origin{FrontEnd: "libvirt-guard", Operation: "DOMAIN_CREATE"}
	for _, r := range []Request{req, guarded} {
		if _, err := e.Check(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n := drv.calls.Load(); n != 1 {
		t.Errorf("the driver was asked %d times; the origin must not change the cache key", n)
	}
	list := Origin{FrontEnd: "libvirt-guard", Operation: "CONNECT_LIST_ALL_DOMAINS"}
	if _, err := e.CheckMany(context.Background(), subject, permission(t, acl.Domain, "getattr"),
		[]acl.Object{domainObj(t, "a", 2), domainObj(t, "b", 3)}, list); err != nil {
		t.Fatal(err)
	}
	want := []Origin{{}, guarded.Origin, list, list}
	if len(aud.seen) != len(want) {
		t.Fatalf("%d requests audited, want %d", len(aud.seen), len(want))
	}
	for i, r := range aud.seen {
		if r.Origin != want[i] {
			t.Errorf("audited request %d has origin %+v, want %+v", i, r.Origin, want[i])
		}
	}
}
