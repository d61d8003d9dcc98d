// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// TestEventWithheldLibvirtd decides events about a real libvirtd's
// objects, looked up on the guard's own lookup connection, and audits to
// the real kernel and auditd (audit_level 2), through each way an event
// is withheld undecided: the session ended before the decision, or
// before the lookup of a volume's pool (no record: the client is gone);
// the engine refusing the request as invalid (reason=invalid-request,
// the pool named); the volume's pool gone, libvirtd answering "no
// storage pool" (reason=unidentified, the volume named with its pool).
// No event of libvirt 9.0.0 names a volume: a pool event stands in.
func TestEventWithheldLibvirtd(t *testing.T) {
	pool, vol := fmt.Sprintf("vah-gev-%d", os.Getpid()), "vah-gev-vol"
	w := startAuditedPool(t, audit.Required, pool, vol)
	ctx, table, lc := w.ctx, w.table, w.lc
	var v proto.RemoteStorageVolLookupByNameRet
	if err := lc.call(ctx, proto.RemoteProcStorageVolLookupByName, &proto.RemoteStorageVolLookupByNameArgs{Pool: w.pool, Name: vol}, &v); err != nil {
		t.Fatal(err)
	}
	invalid := w.subject
	invalid.StartTime = 0 // the engine takes no request without one
	event, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolEventLifecycle))
	perms, err := eventPerms(table)
	if err != nil {
		t.Fatal(err)
	}
	vols, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolListAllVolumes))
	for _, step := range []struct {
		name    string
		perm    acl.Permission
		v       any
		gone    bool
		subject proc.Process
		before  func()
	}{
		{"client gone before the decision", perms[acl.StoragePool], w.pool, true, w.subject, nil},
		{"client gone before the lookup", vols.Filters()[0], v.Vol, true, w.subject, nil},
		{"invalid request", perms[acl.StoragePool], w.pool, false, invalid, nil},
		{"pool gone", vols.Filters()[0], v.Vol, false, w.subject, func() {
			if out, err := w.l.Virsh(nil, "pool-destroy", pool); err != nil {
				t.Fatalf("pool-destroy: %v: %s", err, out)
			}
		}},
	} {
		if step.before != nil {
			step.before()
		}
		sctx, cancel := context.WithCancel(ctx)
		if step.gone {
			cancel()
		}
		c := listCheckerAudited(t, lc, map[string]bool{}, access.AuditTo(w.aw))
		c.subject = step.subject
		h := frame.Header{Prog: uint32(proto.Remote), Proc: event.Number(), Type: frame.Event}
		if eventSession(t, sctx).decideEvent(sctx, c, h, event, step.perm, step.v) {
			t.Errorf("%s: the event passed", step.name)
		}
		cancel()
	}

	// The kernel keeps the records in order: once the last is found, a
	// record of the first two steps would be found too.
	out := w.ad.WaitSearch(t, func(out string) bool { return strings.Contains(out, "reason=unidentified") },
		"-m", "USER_AVC", "--success", "no", "-ua", fmt.Sprint(w.subject.UID))
	recs := slices.DeleteFunc(strings.Split(out, "\n"), func(l string) bool { return !strings.Contains(l, fmt.Sprintf("pool_name=%q", pool)) })
	if len(recs) != 2 {
		t.Fatalf("%d records naming the pool, want 2 (invalid-request, unidentified):\n%s", len(recs), out)
	}
	for i, want := range [][]string{
		{"decision=denied reason=invalid-request", "tclass=storage_pool", `listed="1" shown="0" hidden="1" undecided="1"`, "driver=guard"},
		{"decision=denied reason=unidentified", "tclass=storage_vol", fmt.Sprintf("pool_name=%q vol_name=%q", pool, vol), "driver=guard"},
	} {
		for _, w := range want {
			if !strings.Contains(recs[i], w) {
				t.Errorf("record %d lacks %s:\n%s", i+1, w, recs[i])
			}
		}
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %d:\n%s", w.subject.UID, out)
}

// auditedPool is a test's real auditd and libvirtd, with a transient
// pool, the guard's lookup connection to libvirtd, an audit writer and a
// subject of a uid of its own, for ausearch to find the test's records.
type auditedPool struct {
	ad      *testsys.Auditd
	l       *testsys.Libvirtd
	ctx     context.Context
	table   *proto.Table
	lc      *lookupClient
	pool    proto.RemoteNonnullStoragePool // as libvirtd names it
	aw      *audit.Writer
	subject proc.Process
}

// startAuditedPool starts auditd and libvirtd, defines the transient
// pool name with vols on it, and opens an audit writer at level.
func startAuditedPool(t *testing.T, level audit.Level, name string, vols ...string) *auditedPool {
	t.Helper()
	w := &auditedPool{ad: testsys.StartAuditd(t)} // before libvirtd's lock, as every test taking both
	w.l = testsys.StartLibvirtd(t, testsys.LibvirtdOptions{})
	w.l.TransientPool(t, name, vols...)
	w.ctx, w.table, w.lc = lookupOn(t, w.l)
	var p proto.RemoteStoragePoolLookupByNameRet
	if err := w.lc.call(w.ctx, proto.RemoteProcStoragePoolLookupByName, &proto.RemoteStoragePoolLookupByNameArgs{Name: name}, &p); err != nil {
		t.Fatal(err)
	}
	w.pool = p.Pool
	var err error
	if w.aw, err = audit.Open(audit.Config{Level: level}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.aw.Close() })
	w.subject = proc.Process{PID: int32(os.Getpid()), UID: uint32(1_900_000_000 + os.Getpid()), StartTime: 1, Exe: "/usr/bin/virsh"}
	return w
}
