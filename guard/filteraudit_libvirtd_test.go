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
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// TestListRecordsLibvirtd filters lists of a real libvirtd's objects,
// looked up on the guard's own lookup connection, auditing to the real
// kernel and auditd, and reads back what each left: a volume list whose
// pool lookup the session's end cut short, none (no refusal); a secret
// list hiding one secret by policy and leaving one out unidentified (a
// usage type libvirt 9.0.0 does not have), reason=unidentified with
// undecided="1" of hidden="2"; a network port left out (its
// network's name, as a broken libvirtd might list it, holding a control
// byte), its record naming its network as a port's own record does.
func TestListRecordsLibvirtd(t *testing.T) {
	// audit_level 1, the default: at 2 a record whose writer's context
	// ended is dropped unsent, so a refusal of a list the session's end
	// cut short would go unwritten whether or not the guard made one.
	w := startAuditedPool(t, audit.Auto, fmt.Sprintf("vah-glr-%d", os.Getpid()), "vah-glr-vol")
	ctx := w.ctx
	var vols proto.RemoteStoragePoolListAllVolumesRet
	if err := w.lc.call(ctx, proto.RemoteProcStoragePoolListAllVolumes, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: w.pool, NeedResults: 1}, &vols); err != nil {
		t.Fatal(err)
	}
	procs := remoteProcs(t, proto.RemoteProcConnectListAllSecrets, proto.RemoteProcNetworkListAllPorts, proto.RemoteProcStoragePoolListAllVolumes)
	secrets, ports, volList := procs[0], procs[1], procs[2]
	checker := func() *checker {
		c := listCheckerAudited(t, w.lc, map[string]bool{secrets.Filters()[0].String() + " " + uuidString(sec2.UUID): true}, access.AuditTo(w.aw))
		c.subject = w.subject
		return c
	}

	gone, cancel := context.WithCancel(ctx)
	cancel()
	body, err := proto.Marshal(&vols)
	if err != nil {
		t.Fatal(err)
	}
	r := &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Proc: volList.Number(), Type: frame.Reply, Serial: 7}, Body: body}
	s, _ := listSession(t, gone)
	s.sendFiltered(checker(), volList, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: w.pool, NeedResults: 1}, r)

	unknown := unknownSecret
	if keep, err := checker().allowed(ctx, secrets, secrets.Filters()[0], []any{unknown, sec1, sec2}); err != nil || keep[0] || keep[1] || !keep[2] {
		t.Fatalf("secrets: kept %v, %v; want only the allowed one", keep, err)
	}
	netName := "vah-glr\tnet"
	port := proto.RemoteNonnullNetworkPort{Net: proto.RemoteNonnullNetwork{Name: netName, UUID: [16]byte{0x4e, 15: 0xe4}}, UUID: [16]byte{0xaa, 15: 0x01}}
	if keep, err := checker().allowed(ctx, ports, ports.Filters()[0], []any{port}); err != nil || keep[0] {
		t.Fatalf("network port: kept %v, %v; want it left out", keep, err)
	}

	// Close sends what the writer holds, in order, and the kernel keeps
	// the records in order: once the last is found, a record of the
	// volume list would be found too.
	if err := w.aw.Close(); err != nil || w.aw.Stats().Lost.Total() != 0 {
		t.Fatalf("audit writer: %v, stats %+v", err, w.aw.Stats())
	}
	portUUID := fmt.Sprintf("port_uuid=%q", uuidString(port.UUID))
	out := w.ad.WaitSearch(t, func(out string) bool { return strings.Contains(out, portUUID) },
		"-m", "USER_AVC", "--success", "no", "-ua", fmt.Sprint(w.subject.UID))
	linesWith := func(want ...string) []string {
		return slices.DeleteFunc(strings.Split(out, "\n"), func(line string) bool {
			return slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(line, w) })
		})
	}
	if recs := linesWith("operation=REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES"); len(recs) != 0 {
		t.Errorf("the volume list the session's end cut short was recorded:\n%s", strings.Join(recs, "\n"))
	}
	for _, want := range [][]string{
		{"operation=REMOTE_PROC_CONNECT_LIST_ALL_SECRETS", "decision=denied reason=unidentified", `listed="3" shown="1" hidden="2" undecided="1"`},
		{"operation=REMOTE_PROC_NETWORK_LIST_ALL_PORTS", "decision=denied reason=unidentified", "tclass=network_port", "driver=guard",
			fmt.Sprintf("network_name=%X network_uuid=%q %s", netName, uuidString(port.Net.UUID), portUUID)},
	} {
		if recs := linesWith(want...); len(recs) != 1 {
			t.Errorf("%d records with %q, want 1", len(recs), want)
		}
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %d:\n%s", w.subject.UID, out)
}
