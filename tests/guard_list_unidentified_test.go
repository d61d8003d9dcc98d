// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// newUsageType is a secret usage type libvirt 9.0.0 does not have (its
// last is VIR_SECRET_USAGE_TYPE_VTPM, 5), as a newer libvirtd may send.
const newUsageType = 9

// rewritingReplies changes, with edit, libvirtd's answers to proc,
// results of type R, on their way to the guard.
func rewritingReplies[R any, P interface {
	*R
	proto.Message
}](t *testing.T, proc proto.RemoteProcedure, edit func(P)) func(*frame.Message) {
	return func(m *frame.Message) {
		h := m.Header
		if h.Type != frame.Reply || h.Status != frame.OK || h.Prog != uint32(proto.Remote) || h.Proc != int32(proc) {
			return
		}
		ret := P(new(R))
		if err := proto.Unmarshal(m.Body, ret); err != nil {
			t.Errorf("libvirtd's answer to procedure %d: %v", proc, err)
			return
		}
		edit(ret)
		body, err := proto.Marshal(ret)
		if err != nil {
			t.Errorf("libvirtd's answer to procedure %d: %v", proc, err)
			return
		}
		m.Body = body
	}
}

// secretOfNewUsage changes, in libvirtd's answers to
// CONNECT_LIST_ALL_SECRETS, the usage type of the secret uuid to
// newUsageType.
func secretOfNewUsage(t *testing.T, uuid string) func(*frame.Message) {
	return rewritingReplies(t, proto.RemoteProcConnectListAllSecrets, func(ret *proto.RemoteConnectListAllSecretsRet) {
		for i, s := range ret.Secrets {
			if fmt.Sprintf("%x-%x-%x-%x-%x", s.UUID[0:4], s.UUID[4:6], s.UUID[6:8], s.UUID[8:10], s.UUID[10:16]) == uuid {
				ret.Secrets[i].UsageType = newUsageType
			}
		}
	})
}

// TestGuardListUnidentified: a listed secret the guard cannot build an
// object of (a usage type libvirt 9.0.0 does not have, as a newer
// libvirtd would list it; here real libvirtd's answer changed on its way
// to the guard) is left out of the list, never shown, and not silently:
// real virsh as the admin lists the secrets through a guard auditing to
// the real kernel and auditd, and the audit trail holds a record naming
// the secret left out, reason=unidentified, beside the list's.
func TestGuardListUnidentified(t *testing.T) {
	uuid := randUUID()
	ad, w, uri := newAuditedFilterWorldWith(t, auditedWorld{upstream: func(w *filterWorld) string {
		return damagingUpstream(t, w.lv.Socket, secretOfNewUsage(t, uuid))
	}})
	doc := filepath.Join(t.TempDir(), "secret.xml")
	xml := fmt.Sprintf("<secret ephemeral='no' private='yes'><uuid>%s</uuid><usage type='ceph'><name>vah-gunid-%s</name></usage></secret>", uuid, uuid)
	if err := os.WriteFile(doc, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := w.lv.Virsh(nil, "secret-define", doc); err != nil {
		t.Fatalf("secret-define as root: %v\n%s", err, out)
	}
	t.Cleanup(func() { w.lv.Virsh(nil, "secret-undefine", uuid) })
	if out, err := w.lv.Virsh(nil, "secret-list"); err != nil || !strings.Contains(out, uuid) {
		t.Fatalf("root's secret-list straight from libvirtd does not list %s: %v\n%s", uuid, err, out)
	}
	out, err := testsys.VirshURI(uri, &w.admin, "secret-list")
	if err != nil || strings.Contains(out, uuid) {
		t.Fatalf("the admin's secret-list through the guard: want no %s: %v\n%s", uuid, err, out)
	}

	uid := fmt.Sprint(w.admin.UID)
	// Two denials: the entry's own record, and the list's, which counts
	// it hidden, left out unidentified, and names why (no policy hid
	// anything).
	what := "decision=denied reason=unidentified"
	recs := ad.WaitSearch(t, func(out string) bool { return len(linesWith(out, what)) >= 2 },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	entry := linesWith(recs, what, fmt.Sprintf("secret_uuid=%q", uuid))
	if len(entry) != 1 {
		t.Fatalf("%d records of the entry left out, want 1:\n%s", len(entry), recs)
	}
	for _, want := range []string{"permission=getattr", "tclass=secret", "driver=guard", "operation=REMOTE_PROC_CONNECT_LIST_ALL_SECRETS"} {
		if !strings.Contains(entry[0], want) {
			t.Errorf("the entry's record lacks %s:\n%s", want, entry[0])
		}
	}
	if list := linesWith(recs, what, "listed=", `hidden="1" undecided="1"`, "operation=REMOTE_PROC_CONNECT_LIST_ALL_SECRETS"); len(list) != 1 {
		t.Errorf("%d list records counting the secret hidden with reason=unidentified, want 1:\n%s", len(list), recs)
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %s -i:\n%s", uid,
		ad.SearchUnenriched(t, "-m", "USER_AVC", "--success", "no", "-ua", uid, "-i"))
}

// volumeInGonePool moves, in libvirtd's answers to
// STORAGE_POOL_LIST_ALL_VOLUMES, the volume vol to the pool gone (which
// does not exist), as if its pool vanished between libvirtd's list and
// the guard's lookup of it.
func volumeInGonePool(t *testing.T, vol, gone string) func(*frame.Message) {
	return rewritingReplies(t, proto.RemoteProcStoragePoolListAllVolumes, func(ret *proto.RemoteStoragePoolListAllVolumesRet) {
		for i, v := range ret.Vols {
			if v.Name == vol {
				ret.Vols[i].Pool = gone
			}
		}
	})
}

// TestGuardListUnidentifiedVolume: a listed volume whose pool the guard
// cannot find (libvirtd answers "no storage pool": here its answer to
// the list names a pool that does not exist, as when the pool goes
// between libvirtd's list and the guard's lookup) is left out, and its
// record names it as a volume is identified, with its pool: real virsh
// as the admin lists a pool's volumes through a guard auditing to the
// real kernel and auditd, and sees the other volume only; the audit
// trail holds reason=unidentified with pool_name= and vol_name=.
func TestGuardListUnidentifiedVolume(t *testing.T) {
	const pool, kept, lost, gone = "vah-gunid-pool", "vah-gunid-kept", "vah-gunid-lost", "vah-gunid-gone"
	ad, w, uri := newAuditedFilterWorldWith(t, auditedWorld{upstream: func(w *filterWorld) string {
		return damagingUpstream(t, w.lv.Socket, volumeInGonePool(t, lost, gone))
	}})
	w.lv.TransientPool(t, pool, kept, lost)
	out, err := testsys.VirshURI(uri, &w.admin, "vol-list", pool)
	if err != nil || !strings.Contains(out, kept) || strings.Contains(out, lost) {
		t.Fatalf("the admin's vol-list through the guard: want %s, not %s: %v\n%s", kept, lost, err, out)
	}

	uid := fmt.Sprint(w.admin.UID)
	what := "decision=denied reason=unidentified"
	recs := ad.WaitSearch(t, func(out string) bool { return len(linesWith(out, what)) >= 2 },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	entry := linesWith(recs, what, fmt.Sprintf("pool_name=%q vol_name=%q", gone, lost))
	if len(entry) != 1 {
		t.Fatalf("%d records of the volume left out naming its pool, want 1:\n%s", len(entry), recs)
	}
	for _, want := range []string{"tclass=storage_vol", "driver=guard", "operation=REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES"} {
		if !strings.Contains(entry[0], want) {
			t.Errorf("the volume's record lacks %s:\n%s", want, entry[0])
		}
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %s -i:\n%s", uid,
		ad.SearchUnenriched(t, "-m", "USER_AVC", "--success", "no", "-ua", uid, "-i"))
}
