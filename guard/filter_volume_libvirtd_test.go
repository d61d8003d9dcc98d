// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// volumePool is the transient dir pool TestListedVolumeLibvirtd creates
// (destroying it makes it vanish), with volumes volumeA and volumeB.
const (
	volumePool       = "vah-glist-pool"
	volumeA, volumeB = "vah-glist-a", "vah-glist-b"
)

// TestListedVolumeLibvirtd filters a volume list on a real libvirtd, the
// pool looked up on the guard's own lookup connection, through each way
// the lookup can go: the pool found (the volumes decided: volumeB shown,
// volumeA hidden); the pool destroyed after its volumes were listed, as
// when it goes between libvirtd's list and the guard's lookup (both left
// out: libvirtd answers VIR_ERR_NO_STORAGE_POOL); and the lookup
// connection lost (the list refused, the client told no volume's name).
func TestListedVolumeLibvirtd(t *testing.T) {
	l := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{})
	l.TransientPool(t, volumePool, volumeA, volumeB)

	ctx, table, lc := lookupOn(t, l)
	var pool proto.RemoteStoragePoolLookupByNameRet
	if err := lc.call(ctx, proto.RemoteProcStoragePoolLookupByName, &proto.RemoteStoragePoolLookupByNameArgs{Name: volumePool}, &pool); err != nil {
		t.Fatal(err)
	}
	var list proto.RemoteStoragePoolListAllVolumesRet
	if err := lc.call(ctx, proto.RemoteProcStoragePoolListAllVolumes, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: pool.Pool, NeedResults: 1}, &list); err != nil {
		t.Fatal(err)
	}
	vals := make([]any, len(list.Vols))
	listed := make([]string, len(list.Vols))
	for i, v := range list.Vols {
		vals[i], listed[i] = v, v.Name
	}
	slices.Sort(listed)
	if !slices.Equal(listed, []string{volumeA, volumeB}) {
		t.Fatalf("libvirtd listed %v", list.Vols)
	}
	p, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolListAllVolumes))
	perm := p.Filters()[0]
	c := listChecker(t, lc, map[string]bool{perm.String() + " vol_name=" + volumeB: true})

	keep, err := c.allowed(ctx, p, perm, vals)
	if err != nil {
		t.Fatalf("pool found: %v", err)
	}
	for i, v := range list.Vols {
		if keep[i] != (v.Name == volumeB) {
			t.Errorf("pool found: %s kept %v", v.Name, keep[i])
		}
	}

	if out, err := l.Virsh(nil, "pool-destroy", volumePool); err != nil {
		t.Fatalf("pool-destroy: %v: %s", err, out)
	}
	err = lc.call(ctx, proto.RemoteProcStoragePoolLookupByName, &proto.RemoteStoragePoolLookupByNameArgs{Name: volumePool}, &pool)
	if !libvirtdSays(err, errNoStoragePool) {
		t.Fatalf("libvirtd's answer for a destroyed pool: %v, want VIR_ERR_NO_STORAGE_POOL", err)
	}
	c.objects = newObjects(lc, "QEMU") // a list of its own: the pool looked up again
	if keep, err = c.allowed(ctx, p, perm, vals); err != nil || slices.Contains(keep, true) {
		t.Errorf("pool destroyed after listing: kept %v, %v; want both left out", keep, err)
	}

	lc.close()
	c.objects = newObjects(lc, "QEMU")
	_, err = c.allowed(ctx, p, perm, vals)
	if err == nil || !errors.Is(err, errListEntry) || !strings.Contains(err.Error(), volumePool) {
		t.Fatalf("lookup connection lost: %v, want the list refused, naming the pool", err)
	}
	if msg := *refuseMessage(t, err).Message; strings.Contains(msg, "vah-glist-") {
		t.Errorf("lookup connection lost: the client is told %q", msg)
	}
}
