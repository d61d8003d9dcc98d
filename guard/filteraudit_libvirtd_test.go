// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// TestListRecordsLibvirtd filters lists of a real libvirtd's objects,
// looked up on the guard's own lookup connection, auditing to the real
// kernel and auditd, and reads back what each left: a
// volume list whose pool lookup the session's end cut short, none (no
// refusal); a secret list hiding one secret by policy and leaving one
// out unidentified (a usage type libvirt 9.0.0 does not have),
// reason=unidentified with unidentified="1" of hidden="2"; a network
// port left out (its network's name, as a broken libvirtd might list it,
// holding a control byte), its record naming its network as a port's own
// record does.
func TestListRecordsLibvirtd(t *testing.T) {
	lockThread(t)
	ad := testsys.StartAuditd(t) // before libvirtd's lock, as every test taking both
	l := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{})
	pool, vol := fmt.Sprintf("vah-glr-%d", os.Getpid()), "vah-glr-vol"
	l.TransientPool(t, pool, vol)
	ctx, table, lc := lookupOn(t, l)
	var p proto.RemoteStoragePoolLookupByNameRet
	if err := lc.call(ctx, proto.RemoteProcStoragePoolLookupByName, &proto.RemoteStoragePoolLookupByNameArgs{Name: pool}, &p); err != nil {
		t.Fatal(err)
	}
	var vols proto.RemoteStoragePoolListAllVolumesRet
	if err := lc.call(ctx, proto.RemoteProcStoragePoolListAllVolumes, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: p.Pool, NeedResults: 1}, &vols); err != nil {
		t.Fatal(err)
	}

	// audit_level 1, the default: at 2 a record whose writer's context
	// ended is dropped unsent, so a refusal of a list the session's end
	// cut short would go unwritten whether or not the guard made one.
	aw, err := audit.Open(audit.Config{Level: audit.Auto})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aw.Close() })
	// A subject of its own uid, for ausearch to find this run's records.
	uid := uint32(1_900_000_000 + os.Getpid())
	secrets, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcConnectListAllSecrets))
	ports, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcNetworkListAllPorts))
	volList, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolListAllVolumes))
	checker := func() *checker {
		c := listCheckerAudited(t, lc, map[string]bool{secrets.Filters()[0].String() + " " + uuidString(sec2.UUID): true}, access.AuditTo(aw))
		c.subject = proc.Process{PID: int32(os.Getpid()), UID: uid, StartTime: 1, Exe: "/usr/bin/virsh"}
		return c
	}

	gone, cancel := context.WithCancel(ctx)
	cancel()
	body, err := proto.Marshal(&vols)
	if err != nil {
		t.Fatal(err)
	}
	r := &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Proc: volList.Number(), Type: frame.Reply, Serial: 7}, Body: body}
	listSession(t, gone).sendFiltered(checker(), volList, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: p.Pool, NeedResults: 1}, r)

	unknown := proto.RemoteNonnullSecret{UUID: [16]byte{0x53, 15: 0x35}, UsageType: 9, UsageID: "x"}
	if keep, err := checker().allowed(ctx, secrets, secrets.Filters()[0], []any{unknown, sec1, sec2}); err != nil || keep[0] || keep[1] || !keep[2] {
		t.Fatalf("secrets: kept %v, %v; want only the allowed one", keep, err)
	}
	netName := "vah-glr\tnet"
	port := proto.RemoteNonnullNetworkPort{Net: proto.RemoteNonnullNetwork{Name: netName, UUID: [16]byte{0x4e, 15: 0xe4}}, UUID: [16]byte{0xaa, 15: 0x01}}
	if keep, err := checker().allowed(ctx, ports, ports.Filters()[0], []any{port}); err != nil || keep[0] {
		t.Fatalf("network port: kept %v, %v; want it left out", keep, err)
	}

	// The writer sends its queue, and the kernel keeps the records, in
	// order: once the last is found, a record of the volume list would
	// be found too.
	portUUID := fmt.Sprintf("port_uuid=%q", uuidString(port.UUID))
	out := ad.WaitSearch(t, func(out string) bool { return strings.Contains(out, portUUID) },
		"-m", "USER_AVC", "--success", "no", "-ua", fmt.Sprint(uid))
	linesWith := func(want ...string) []string {
		return slices.DeleteFunc(strings.Split(out, "\n"), func(line string) bool {
			return slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(line, w) })
		})
	}
	if recs := linesWith("operation=REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES"); len(recs) != 0 {
		t.Errorf("the volume list the session's end cut short was recorded:\n%s", strings.Join(recs, "\n"))
	}
	for _, want := range [][]string{
		{"operation=REMOTE_PROC_CONNECT_LIST_ALL_SECRETS", "decision=denied reason=unidentified", `listed="3" shown="1" hidden="2" unidentified="1"`},
		{"operation=REMOTE_PROC_NETWORK_LIST_ALL_PORTS", "decision=denied reason=unidentified", "tclass=network_port", "driver=guard",
			fmt.Sprintf("network_name=%X network_uuid=%q %s", netName, uuidString(port.Net.UUID), portUUID)},
	} {
		if recs := linesWith(want...); len(recs) != 1 {
			t.Errorf("%d records with %q, want 1", len(recs), want)
		}
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %d:\n%s", uid, out)
}

// lockThread keeps the test on its thread until its end, cleanups and
// all. testsys starts daemons with Pdeathsig, so they die with the
// thread that started them, and a level Auto audit writer's low thread
// may end the thread it locks at once (audit/priority.go: at nice 10 or
// lower): a daemon started from a thread the runtime could give it
// would die at random.
func lockThread(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread) // the first registered: run last
}
