// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// Integration tests: the engine with the polkit driver against a real
// polkitd on a private bus, real rules, real users and their processes.

const (
	aliceUUID = "a11ce000-0000-4000-8000-000000000001"
	bobUUID   = "b0b00000-0000-4000-8000-000000000002"
)

type world struct {
	bus    *testsys.Bus
	pk     *testsys.Polkitd
	auth   *polkit.Authority
	alice  proc.Process
	bob    proc.Process
	aliceN string
	bobN   string
}

func startWorld(t testing.TB) *world {
	t.Helper()
	testsys.NeedRoot(t)
	w := &world{bus: testsys.StartBus(t)}
	w.pk = testsys.StartPolkitd(t, w.bus)
	alice, bob := testsys.AddUser(t, "alice"), testsys.AddUser(t, "bob")
	w.aliceN, w.bobN = alice.Name, bob.Name
	w.alice, w.bob = lookup(t, alice.Start(t).PID), lookup(t, bob.Start(t).PID)
	auth, err := polkit.Dial(context.Background(), polkit.Options{Address: w.bus.Address,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	w.auth = auth
	return w
}

func lookup(t testing.TB, pid int32) proc.Process {
	t.Helper()
	p, err := proc.Lookup(pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ownVMRule is the mailing list's wish: each user may start, stop and open
// the console of their own VM, nothing more. Ownership is by name for
// alice and by UUID for bob, so both details must reach the rules.
func (w *world) ownVMRule() string {
	return fmt.Sprintf(`
polkit.addRule(function(action, subject) {
    var allowed = ["org.libvirt.api.domain.start", "org.libvirt.api.domain.stop",
                   "org.libvirt.api.domain.open-graphics", "org.libvirt.api.domain.getattr"];
    if (allowed.indexOf(action.id) < 0 || action.lookup("connect_driver") != "QEMU")
        return polkit.Result.NOT_HANDLED;
    if (subject.user == %q && action.lookup("domain_name") == "alice-vm")
        return polkit.Result.YES;
    if (subject.user == %q && action.lookup("domain_uuid") == %q)
        return polkit.Result.YES;
    return polkit.Result.NOT_HANDLED;
});`, w.aliceN, w.bobN, bobUUID)
}

// ownVMEngine installs ownVMRule and returns the rule, an engine asking
// polkit, and alice's VM.
func (w *world) ownVMEngine(t *testing.T) (*testsys.Rule, *Engine, acl.Object) {
	t.Helper()
	rule := w.pk.AddRule(t, "own-vm", w.ownVMRule())
	return rule, w.engine(t), vm(t, "alice-vm", aliceUUID)
}

func vm(t testing.TB, name, uuid string) acl.Object {
	t.Helper()
	o, err := acl.NewObject(acl.Domain, "QEMU", map[string]string{"domain_name": name, "domain_uuid": uuid})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (w *world) engine(t testing.TB, drivers ...Driver) *Engine {
	t.Helper()
	c, err := authcache.New(authcache.Options{Size: 1024, AllowTTL: time.Hour, DenyTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(drivers) == 0 {
		drivers = []Driver{NewPolkit(w.auth)}
	}
	e, err := New(Options{Drivers: drivers, Cache: c, DriverTimeout: testsys.PolkitAnswerTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func check(t *testing.T, e *Engine, who proc.Process, obj acl.Object, perm string) Decision {
	t.Helper()
	d, err := e.Check(context.Background(), Request{Subject: who, Object: obj, Permission: permission(t, obj.Type(), perm)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPolkitDecisions(t *testing.T) {
	w := startWorld(t)
	w.pk.AddRule(t, "own-vm", w.ownVMRule())
	aliceVM, bobVM := vm(t, "alice-vm", aliceUUID), vm(t, "bob-vm", bobUUID)
	renamedBobVM := vm(t, "alice-vm", bobUUID) // bob's UUID under alice's VM name
	tests := []struct {
		name  string
		who   func() proc.Process
		obj   acl.Object
		perm  string
		allow bool
	}{
		{"alice starts her VM (by domain_name)", func() proc.Process { return w.alice }, aliceVM, "start", true},
		{"alice opens her console", func() proc.Process { return w.alice }, aliceVM, "open_graphics", true},
		{"alice may not change her VM", func() proc.Process { return w.alice }, aliceVM, "write", false},
		{"alice may not start bob's VM", func() proc.Process { return w.alice }, bobVM, "start", false},
		{"bob stops his VM (by domain_uuid)", func() proc.Process { return w.bob }, bobVM, "stop", true},
		{"bob may not start alice's VM", func() proc.Process { return w.bob }, aliceVM, "start", false},
		{"bob may not read secure XML", func() proc.Process { return w.bob }, bobVM, "read_secure", false},
		{"alice matches by name whatever the UUID", func() proc.Process { return w.alice }, renamedBobVM, "start", true},
	}
	for _, stack := range []struct {
		name    string
		drivers []Driver
	}{{"polkit", nil}, {"none+polkit", []Driver{None{}, NewPolkit(w.auth)}}} {
		e := w.engine(t, stack.drivers...)
		for _, tt := range tests {
			t.Run(stack.name+"/"+tt.name, func(t *testing.T) {
				d := check(t, e, tt.who(), tt.obj, tt.perm)
				if d.Allowed != tt.allow {
					t.Errorf("allowed = %v, want %v (%+v)", d.Allowed, tt.allow, d)
				}
				if !d.Allowed && d.Reason != Policy {
					t.Errorf("deny reason %v, want policy", d.Reason)
				}
			})
		}
	}
}

func TestPolkitCachedAnswerMakesNoCall(t *testing.T) {
	w := startWorld(t)
	_, e, aliceVM := w.ownVMEngine(t)
	// Any rule change on the host (polkitd may report one load more than
	// once) flushes the cache; retry until a pair of checks sees none.
	for attempt := 0; attempt < 20; attempt++ {
		flushes := totalInvalidations(e)
		first := check(t, e, w.alice, aliceVM, "start")
		calls := e.Stats().Drivers[0].Calls
		second := check(t, e, w.alice, aliceVM, "start")
		if totalInvalidations(e) != flushes {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if !first.Allowed || !second.Allowed || !second.Cached {
			t.Fatalf("first %+v, second %+v", first, second)
		}
		if got := e.Stats().Drivers[0].Calls; got != calls {
			t.Errorf("a cached answer made %d polkit calls", got-calls)
		}
		return
	}
	t.Fatal("the cache was flushed during every attempt")
}

func totalInvalidations(e *Engine) (n uint64) {
	for _, v := range e.Stats().Invalidations {
		n += v
	}
	return n
}

// waitInvalidation waits until the engine has flushed its cache for reason.
func waitInvalidation(t *testing.T, e *Engine, reason string, before uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Stats().Invalidations[reason] <= before {
		if time.Now().After(deadline) {
			t.Fatalf("no %s invalidation within 10s (stats %v)", reason, e.Stats().Invalidations)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPolkitRuleChangeFlushesCache(t *testing.T) {
	w := startWorld(t)
	rule, e, aliceVM := w.ownVMEngine(t)
	if d := check(t, e, w.alice, aliceVM, "start"); !d.Allowed {
		t.Fatalf("before the change: %+v", d)
	}
	before := e.Stats().Invalidations["polkit-policy-changed"]
	rule.Replace(t, fmt.Sprintf(`polkit.addRule(function(action, subject) {
    if (subject.user == %q) return polkit.Result.NO;
});`, w.aliceN))
	waitInvalidation(t, e, "polkit-policy-changed", before)
	if d := check(t, e, w.alice, aliceVM, "start"); d.Allowed || d.Cached {
		t.Errorf("after the rule change: %+v, want an uncached deny", d)
	}
}

func TestPolkitRestart(t *testing.T) {
	w := startWorld(t)
	_, e, aliceVM := w.ownVMEngine(t)
	check(t, e, w.alice, aliceVM, "start")

	before := e.Stats().Invalidations["polkit-owner-changed"]
	w.pk.Kill(t)
	waitInvalidation(t, e, "polkit-owner-changed", before)
	for _, perm := range []string{"start", "stop"} { // cached before, and not
		d := check(t, e, w.alice, aliceVM, perm)
		if d.Allowed || d.Reason != Unavailable {
			t.Errorf("%s while polkitd is down: %+v, want an unavailable deny", perm, d)
		}
	}
	w.pk.Start(t)
	waitAllowed(t, e, w.alice, aliceVM, 10*time.Second)
}

// waitAllowed waits until the engine allows who to start obj; meanwhile
// any answer must be an unavailable deny, never a policy one.
func waitAllowed(t *testing.T, e *Engine, who proc.Process, obj acl.Object, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for d := check(t, e, who, obj, "start"); !d.Allowed; d = check(t, e, who, obj, "start") {
		if d.Reason != Unavailable {
			t.Fatalf("while polkit comes back: %+v, want allowed or unavailable", d)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not allowed %s after polkit's return: %+v", limit, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPolkitBusRestart(t *testing.T) {
	w := startWorld(t)
	_, e, aliceVM := w.ownVMEngine(t)
	check(t, e, w.alice, aliceVM, "start")

	before := e.Stats().Invalidations["polkit-disconnected"]
	w.bus.Restart(t)
	waitInvalidation(t, e, "polkit-disconnected", before)
	w.pk.Restart(t) // polkitd exits with its bus; bring it back on the new one
	waitAllowed(t, e, w.alice, aliceVM, 15*time.Second)
	if e.Stats().Invalidations["polkit-reconnected"] == 0 {
		t.Error("reconnection did not flush the cache")
	}
}

// BenchmarkDecision measures, in one run against the real polkitd, a
// cached decision (b.N of them) and uncached ones (a direct polkit round
// trip through the engine with caching off), and reports both and the ratio.
func BenchmarkDecision(b *testing.B) {
	w := startWorld(b)
	w.pk.AddRule(b, "own-vm", w.ownVMRule())
	aliceVM := vm(b, "alice-vm", aliceUUID)
	req := Request{Subject: w.alice, Object: aliceVM, Permission: permission(b, acl.Domain, "start")}

	uncached, err := New(Options{Drivers: []Driver{NewPolkit(w.auth)}})
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()
	const polkitSamples = 300
	start := time.Now()
	for i := 0; i < polkitSamples; i++ {
		if d, _ := uncached.Check(context.Background(), req); !d.Allowed || d.Cached {
			b.Fatalf("uncached decision %+v", d)
		}
	}
	polkitNS := float64(time.Since(start).Nanoseconds()) / polkitSamples

	cached := w.engine(b)
	cached.Check(context.Background(), req)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d, _ := cached.Check(context.Background(), req); !d.Cached {
			b.Fatalf("cached decision %+v", d)
		}
	}
	b.StopTimer()
	cachedNS := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(polkitNS, "polkit-ns/op")
	b.ReportMetric(polkitNS/cachedNS, "speedup-x")
}
