// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// These tests build generations with the "none" driver and a scripted
// auditor, on a system bus address where no bus listens: polkit's
// authority keeps trying to connect in the background and answers
// "unavailable" meanwhile. The polkit driver itself is tested against a
// real polkitd in package access.

func noBus(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
}

// auditors counts the auditors built and closed; fail makes building one
// fail.
type auditors struct {
	built, closed atomic.Int64
	fail          atomic.Bool
}

func (a *auditors) open(config.Config, *slog.Logger) (access.Auditor, func(), error) {
	if a.fail.Load() {
		return nil, nil, errors.New("no audit here")
	}
	a.built.Add(1)
	return nopAuditor{}, func() { a.closed.Add(1) }, nil
}

type nopAuditor struct{}

func (nopAuditor) Audit(context.Context, access.Request, access.Decision) error { return nil }

func conf(level config.AuditLevel, cacheSize int) config.Config {
	cfg := config.Default()
	cfg.AccessDrivers = []string{acl.AccessDriverNone}
	cfg.AuditLevel, cfg.CacheSize = level, cacheSize
	cfg.PolkitTimeout = time.Second
	return cfg
}

func start(t *testing.T, cfg config.Config, a *auditors) *Runtime {
	t.Helper()
	noBus(t)
	rt, err := Start(context.Background(), cfg, Options{NewAuditor: a.open})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

func TestReloadSwapsTheGeneration(t *testing.T) {
	a := &auditors{}
	rt := start(t, conf(config.AuditIfAvailable, 10), a)
	first := rt.Current()
	if first.Engine == nil || first.Authorizer == nil || first.Config.CacheSize != 10 {
		t.Fatalf("first generation %+v", first)
	}
	if err := rt.Reload(context.Background(), conf(config.AuditIfAvailable, 20)); err != nil {
		t.Fatal(err)
	}
	second := rt.Current()
	if second == first || second.Config.CacheSize != 20 || a.built.Load() != 2 {
		t.Errorf("after reload: generation %p (was %p), cache_size %d, %d auditors built",
			second, first, second.Config.CacheSize, a.built.Load())
	}
	// The old generation stays open for the calls that took it, then is
	// closed: polkit_timeout (1 s) plus 2 s.
	if a.closed.Load() != 0 {
		t.Error("the old generation was closed at once")
	}
	for deadline := time.Now().Add(10 * time.Second); a.closed.Load() != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the old generation was never closed")
		}
	}
}

func TestFailedReloadKeepsTheGeneration(t *testing.T) {
	a := &auditors{}
	rt := start(t, conf(config.AuditRequired, 10), a)
	first := rt.Current()
	a.fail.Store(true)
	err := rt.Reload(context.Background(), conf(config.AuditRequired, 20))
	if err == nil {
		t.Fatal("a reload that cannot audit at audit_level 2 succeeded")
	}
	if rt.Current() != first {
		t.Error("a failed reload replaced the generation")
	}
	// At audit_level 1 the same failure only loses the records.
	if err := rt.Reload(context.Background(), conf(config.AuditIfAvailable, 20)); err != nil {
		t.Errorf("audit_level 1 without audit: %v", err)
	}
}

func TestPolkitRequiredWithoutBus(t *testing.T) {
	noBus(t)
	cfg := conf(config.AuditOff, 10)
	cfg.AccessDrivers = []string{acl.AccessDriverPolkit}
	rt, err := Start(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("a daemon started before the bus must start: %v", err)
	}
	defer rt.Close()
	p, err := proc.Lookup(1)
	if err != nil {
		t.Skipf("cannot read process 1: %v", err)
	}
	perm, _ := acl.ParsePermission(acl.Connect, "getattr")
	obj, _ := acl.NewObject(acl.Connect, "QEMU", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := rt.Current().Engine.Check(ctx, access.Request{Subject: p, Object: obj, Permission: perm})
	if err != nil || d.Allowed || d.Reason != access.Unavailable {
		t.Errorf("decision without a bus: %+v, %v; want unavailable", d, err)
	}
	if ok, err := rt.Current().Authorizer.Authorized(ctx, p, "io.github.virt-acl-helper.stats"); ok || err == nil {
		t.Errorf("privilege without a bus: %v, %v; want no decision", ok, err)
	}
}

func TestReloadAfterClose(t *testing.T) {
	rt := start(t, conf(config.AuditOff, 10), &auditors{})
	rt.Close()
	if err := rt.Reload(context.Background(), conf(config.AuditOff, 10)); !errors.Is(err, ErrClosed) {
		t.Errorf("Reload after Close: %v, want ErrClosed", err)
	}
}

// TestConcurrentReload decides on the current generation while it is
// replaced, as front ends do during a reload (run with -race).
func TestConcurrentReload(t *testing.T) {
	rt := start(t, conf(config.AuditOff, 10), &auditors{})
	self, err := proc.Lookup(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	perm, _ := acl.ParsePermission(acl.Connect, "getattr")
	obj, _ := acl.NewObject(acl.Connect, "QEMU", nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := rt.Current().Engine.Check(context.Background(), access.Request{Subject: self, Object: obj, Permission: perm})
				if err != nil || !d.Allowed {
					t.Errorf("decision during reload: %+v, %v", d, err)
					return
				}
			}
		}()
	}
	for i := range 20 {
		if err := rt.Reload(context.Background(), conf(config.AuditOff, 10+i)); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestReloadRetiresTheOldCache: a request still on the replaced
// generation (a CheckMany straddling the reload) must not be answered
// from the cache the reload was meant to drop.
func TestReloadRetiresTheOldCache(t *testing.T) {
	rt := start(t, conf(config.AuditOff, 10), &auditors{})
	old := rt.Current()
	self, err := proc.Lookup(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	perm, _ := acl.ParsePermission(acl.Connect, "getattr")
	obj, _ := acl.NewObject(acl.Connect, "QEMU", nil)
	req := access.Request{Subject: self, Object: obj, Permission: perm}
	for range 2 {
		if _, err := old.Engine.Check(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	epoch := old.Engine.Epoch()
	if err := rt.Reload(context.Background(), conf(config.AuditOff, 10)); err != nil {
		t.Fatal(err)
	}
	if n := old.Engine.Stats().Cache.Entries; n != 0 {
		t.Errorf("the old generation's cache holds %d decisions after the reload", n)
	}
	if old.Engine.Epoch() == epoch {
		t.Error("the old generation's epoch did not move: a connection's privileges would survive the reload")
	}
	for range 2 {
		d, err := old.Engine.Check(context.Background(), req)
		if err != nil || d.Cached {
			t.Errorf("decision on the replaced generation: %+v, %v; want decided afresh", d, err)
		}
	}
}
