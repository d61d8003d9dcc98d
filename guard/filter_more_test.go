// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"slices"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The fake host's pool poolA with volumes v1 and v2 (v2 allowed), node
// devices devA (allowed) and devB, secrets sec1 (a Ceph secret) and sec2
// (allowed), and unknownSecret, of a usage type libvirt 9.0.0 does not
// have (as a newer libvirtd may list one): the guard cannot identify it.
var (
	poolA = proto.RemoteNonnullStoragePool{Name: "poolA", UUID: [16]byte{0x90, 15: 0x09}}
	vol1  = proto.RemoteNonnullStorageVol{Pool: "poolA", Name: "v1", Key: "/pool/v1"}
	vol2  = proto.RemoteNonnullStorageVol{Pool: "poolA", Name: "v2", Key: "/pool/v2"}
	sec1  = proto.RemoteNonnullSecret{UUID: [16]byte{0x51, 15: 0x15}, UsageType: 2, UsageID: "client.admin"}
	sec2  = proto.RemoteNonnullSecret{UUID: [16]byte{0x52, 15: 0x25}}

	unknownSecret = proto.RemoteNonnullSecret{UUID: [16]byte{0x53, 15: 0x35}, UsageType: 9, UsageID: "x"}
	more          = []string{
		"storage_pool:search_storage_vols " + uuidString(poolA.UUID), "storage_vol:getattr vol_name=v2",
		"connect:search_node_devices ", "node_device:getattr node_device_name=devA",
		"connect:search_secrets ", "secret:getattr " + uuidString(sec2.UUID),
	}
)

// moreListAnswer answers the fake's pool, volume, node device and secret
// calls.
func moreListAnswer(args proto.Message) proto.Message {
	switch a := args.(type) {
	case *proto.RemoteStoragePoolLookupByUUIDArgs:
		return &proto.RemoteStoragePoolLookupByUUIDRet{Pool: poolA}
	case *proto.RemoteStoragePoolLookupByNameArgs:
		return &proto.RemoteStoragePoolLookupByNameRet{Pool: poolA}
	case *proto.RemoteStoragePoolListAllVolumesArgs:
		if a.NeedResults == 0 {
			return &proto.RemoteStoragePoolListAllVolumesRet{Ret: 2}
		}
		return &proto.RemoteStoragePoolListAllVolumesRet{Vols: []proto.RemoteNonnullStorageVol{vol1, vol2}, Ret: 2}
	case *proto.RemoteStoragePoolListVolumesArgs:
		return &proto.RemoteStoragePoolListVolumesRet{Names: []string{"v1", "v2"}}
	case *proto.RemoteStoragePoolNumOfVolumesArgs:
		return &proto.RemoteStoragePoolNumOfVolumesRet{Num: 2}
	case *proto.RemoteNodeListDevicesArgs:
		return &proto.RemoteNodeListDevicesRet{Names: []string{"devA", "devB"}}
	case *proto.RemoteNodeNumOfDevicesArgs:
		return &proto.RemoteNodeNumOfDevicesRet{Num: 2}
	case *proto.RemoteConnectListAllSecretsArgs:
		return &proto.RemoteConnectListAllSecretsRet{Secrets: []proto.RemoteNonnullSecret{sec1, sec2}, Ret: 2}
	case *proto.RemoteConnectListSecretsArgs:
		return &proto.RemoteConnectListSecretsRet{UUIDs: []string{uuidString(sec1.UUID), uuidString(sec2.UUID)}}
	}
	return bindingAnswer(args)
}

func TestMoreListsFiltered(t *testing.T) {
	checkLists(t, more, []listCase{
		{"volumes", proto.RemoteProcStoragePoolListAllVolumes, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: poolA, NeedResults: 1},
			whole, `&proto.RemoteStoragePoolListAllVolumesRet{Vols:[]proto.RemoteNonnullStorageVol{proto.RemoteNonnullStorageVol{Pool:"poolA", Name:"v2", Key:"/pool/v2"}}, Ret:0x1}`},
		{"count volumes", proto.RemoteProcStoragePoolListAllVolumes, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: poolA},
			whole, `&proto.RemoteStoragePoolListAllVolumesRet{Vols:[]proto.RemoteNonnullStorageVol{}, Ret:0x1}`},
		{"old volume names", proto.RemoteProcStoragePoolListVolumes, &proto.RemoteStoragePoolListVolumesArgs{Pool: poolA, Maxnames: 10},
			whole, `&proto.RemoteStoragePoolListVolumesRet{Names:[]string{"v2"}}`},
		{"old volume count", proto.RemoteProcStoragePoolNumOfVolumes, &proto.RemoteStoragePoolNumOfVolumesArgs{Pool: poolA},
			whole, `&proto.RemoteStoragePoolNumOfVolumesRet{Num:1}`},
		{"node devices", proto.RemoteProcNodeListDevices, &proto.RemoteNodeListDevicesArgs{Maxnames: 10},
			whole, `&proto.RemoteNodeListDevicesRet{Names:[]string{"devA"}}`},
		{"node device count", proto.RemoteProcNodeNumOfDevices, &proto.RemoteNodeNumOfDevicesArgs{},
			whole, `&proto.RemoteNodeNumOfDevicesRet{Num:1}`},
		{"secrets", proto.RemoteProcConnectListAllSecrets, &proto.RemoteConnectListAllSecretsArgs{NeedResults: 1},
			whole, `&proto.RemoteConnectListAllSecretsRet{Secrets:[]proto.RemoteNonnullSecret{proto.RemoteNonnullSecret{UUID:[16]uint8{0x52, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x25}, UsageType:0, UsageID:""}}, Ret:0x1}`},
		{"old secret UUIDs", proto.RemoteProcConnectListSecrets, &proto.RemoteConnectListSecretsArgs{Maxuuids: 10},
			whole, `&proto.RemoteConnectListSecretsRet{UUIDs:[]string{"52000000-0000-0000-0000-000000000025"}}`},
	})
}

// TestVolumePoolLookedUpOnce: a volume list looks its pool up once, not
// once per volume.
func TestVolumePoolLookedUpOnce(t *testing.T) {
	w, c := openWorld(t, more)
	if code := c.call(proto.RemoteProcStoragePoolListAllVolumes, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: poolA, NeedResults: 1}); code != 0 {
		t.Fatalf("error %d", code)
	}
	n := 0
	for i := range 2 {
		n += len(slices.DeleteFunc(w.up.procs(i), func(p int32) bool { return p != int32(proto.RemoteProcStoragePoolLookupByName) }))
	}
	if n != 1 {
		t.Errorf("pool looked up by name %d times, want 1", n)
	}
}

// TestListRefusedWhenUndecidable: when the engine cannot decide, the
// list is refused, not passed.
func TestListRefusedWhenUndecidable(t *testing.T) {
	w, c := openWorld(t, listed)
	w.policy.mu.Lock()
	w.policy.fail = true
	w.policy.mu.Unlock()
	m := c.reply(c.sendArgs(proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1}))
	if m.Header.Status != frame.Error || errCode(t, m) != frame.ErrAccessDenied {
		t.Errorf("status %s code %d, want access denied", m.Header.Status, errCode(t, m))
	}
}

// TestEveryFilteredListHandled: each of libvirt's @aclfilter procedures
// is an event registration, an old list or count, or has a list of the
// filter's objects in its reply.
func TestEveryFilteredListHandled(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range table.Procedures(proto.Remote) {
		if len(p.Filters()) == 0 {
			continue
		}
		n++
		if len(p.Filters()) != 1 {
			t.Errorf("%s has %d filters, want 1", p.Name(), len(p.Filters()))
			continue
		}
		_, old := oldLists[keyOf(p)]
		_, list := objectList(p.NewRet(), nonnullType[p.Filters()[0].Object()])
		if !eventRegisterProcs[keyOf(p)] && !old && !list {
			t.Errorf("%s: not filtered", p.Name())
		}
	}
	if n != 42 {
		t.Errorf("%d procedures with @aclfilter, want libvirt 9.0.0's 42", n)
	}
}
