// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// refusingAuditor is the kernel's auditor refusing the decision records
// of one object, as the kernel refuses a record at audit_level 2 (its
// queue full, no answer in time) while it takes the next.
type refusingAuditor struct {
	kernel access.Auditor
	uuid   string // the object whose decisions' records are refused
}

func (a refusingAuditor) Audit(ctx context.Context, r access.Request, d access.Decision) error {
	if r.Object.Valid() && r.Object.UUID() == a.uuid {
		return errors.New("record refused by the test")
	}
	return a.kernel.Audit(ctx, r, d)
}

func (a refusingAuditor) WriteRecord(ctx context.Context, rec audit.Record) error {
	return a.kernel.(access.RecordWriter).WriteRecord(ctx, rec)
}

// defineDocs writes each VM's inactive XML, as root dumps it from
// libvirtd, to a file, for root to redefine it (an event) unchanged.
func defineDocs(t *testing.T, w *filterWorld, vms ...string) map[string]string {
	t.Helper()
	docs := map[string]string{}
	for _, vm := range vms {
		xml, err := w.lv.Virsh(nil, "dumpxml", "--inactive", vm)
		if err != nil {
			t.Fatalf("dumpxml %s: %v\n%s", vm, err, xml)
		}
		docs[vm] = filepath.Join(t.TempDir(), vm+".xml")
		if err := os.WriteFile(docs[vm], []byte(xml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

// watchRedefined runs real virsh as user A, with args, in an event loop
// of seconds through uri, while root redefines each of vms, in order,
// times rounds; it returns what virsh printed.
func watchRedefined(t *testing.T, w *filterWorld, uri string, seconds, times int, vms []string, args ...string) string {
	t.Helper()
	docs := defineDocs(t, w, vms...)
	seen := make(chan string, 1)
	go func() { seen <- virshEventLoop(uri, w.a, seconds, args...) }()
	time.Sleep(3 * time.Second) // the client registers
	for range times {
		for _, vm := range vms {
			if out, err := w.lv.Virsh(nil, "define", docs[vm]); err != nil {
				t.Fatalf("define %s as root: %v\n%s", vm, err, out)
			}
		}
	}
	return <-seen
}

// oneDenial waits for the audit trail to hold a denial of uid's with
// reason, requires exactly one, holding each of wants, and returns it.
func oneDenial(t *testing.T, ad *testsys.Auditd, uid, reason string, wants ...string) string {
	t.Helper()
	what := "decision=denied reason=" + reason
	out := ad.WaitSearch(t, func(out string) bool { return strings.Contains(out, what) },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	recs := linesWith(out, what)
	if len(recs) != 1 {
		t.Fatalf("%d records with %s, want 1:\n%s", len(recs), what, out)
	}
	for _, want := range wants {
		if !strings.Contains(recs[0], want) {
			t.Errorf("the record with %s lacks %s:\n%s", what, want, recs[0])
		}
	}
	return out
}

// linesWith returns the lines of out that hold every one of subs.
func linesWith(out string, subs ...string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(l, sub)
		}
		if all {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestGuardEventAuditFailed: at audit_level 2, when the record of an
// event's object decision is not written (the decision then a denial,
// AuditFailed), the event is withheld and its own record, written to the
// real kernel and auditd, says reason=audit-failed, not filtered: an
// auditor never reads a failure as the policy's answer. The same
// object's later events, decided from the cache, say filtered. A
// restricted user's real virsh watches lifecycle events while root
// redefines the user's VM and another one (whose records are refused).
func TestGuardEventAuditFailed(t *testing.T) {
	ad, w, uri := newAuditedFilterWorldWith(t, auditedWorld{wrap: func(w *filterWorld, k access.Auditor) access.Auditor {
		return refusingAuditor{kernel: k, uuid: w.uuidB}
	}})
	const times = 2
	out := watchRedefined(t, w, uri, 10, times, []string{w.vmB, w.vmA}, "event", "--event", "lifecycle")
	if strings.Count(out, fmt.Sprintf("for domain '%s': Defined", w.vmA)) != times || strings.Contains(out, w.vmB) {
		t.Fatalf("A's events: want %d of %s and none of %s:\n%s", times, w.vmA, w.vmB, out)
	}

	uid := fmt.Sprint(w.a.UID)
	hidden := func(out string) []string { return linesWith(out, eventOperation, `hidden="1"`) }
	out = ad.WaitSearch(t, func(out string) bool { return len(hidden(out)) >= times },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	failed := 0
	for _, r := range hidden(out) {
		switch {
		case strings.Contains(r, "cached=no") && strings.Contains(r, "decision=denied reason=audit-failed"):
			failed++
		case strings.Contains(r, "cached=yes") && strings.Contains(r, "decision=denied reason=filtered"):
		default:
			t.Errorf("event record of %s: want reason=audit-failed when decided afresh, filtered from the cache:\n%s", w.vmB, r)
		}
	}
	if n := len(hidden(out)); n != times || failed == 0 {
		t.Errorf("%d event records of %s (%d audit-failed), want %d, the first audit-failed:\n%s", n, w.vmB, failed, times, out)
	}
	if own := ad.Search(t, "-m", "USER_AVC", "-w", "--vm-name", w.vmB, "-ua", uid); strings.Contains(own, "type=USER_AVC") {
		t.Errorf("a record of %s's own was written, though refused:\n%s", w.vmB, own)
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %s -i:\n%s", uid,
		ad.SearchUnenriched(t, "-m", "USER_AVC", "--success", "no", "-ua", uid, "-i"))
}

// TestGuardEventUndecodable: an event from libvirtd that the guard
// cannot decode is never forwarded, and an auditor sees it withheld: a
// record of its own naming the event's procedure, reason=undecodable,
// hidden=1 and driver=guard, written to the real kernel and auditd.
// Real libvirtd's first lifecycle event about the restricted user's own
// VM reaches the guard with four bytes more than the protocol has
// (damagingUpstream); real virsh, watching as that user, sees only the
// second, intact one.
func TestGuardEventUndecodable(t *testing.T) {
	var damaged atomic.Int32
	ad, w, uri := newAuditedFilterWorldWith(t, auditedWorld{upstream: func(w *filterWorld) string {
		return damagingUpstream(t, w.lv.Socket, func(m *frame.Message) {
			if m.Header.Type == frame.Event && m.Header.Proc == int32(proto.RemoteProcDomainEventCallbackLifecycle) &&
				bytes.Contains(m.Body, []byte(w.vmA)) && damaged.Add(1) == 1 {
				m.Body = append(m.Body, 0, 0, 0, 0)
			}
		})
	}})
	if out := watchRedefined(t, w, uri, 8, 2, []string{w.vmA}, "event", "--event", "lifecycle"); strings.Count(out, fmt.Sprintf("for domain '%s': Defined", w.vmA)) != 1 {
		t.Fatalf("A's events: want the intact one of %s only:\n%s", w.vmA, out)
	}
	if damaged.Load() < 1 {
		t.Fatal("no event was damaged")
	}

	uid := fmt.Sprint(w.a.UID)
	oneDenial(t, ad, uid, "undecodable", "tclass=domain", eventOperation, `listed="1" shown="0" hidden="1"`, "driver=guard")
	t.Logf("ausearch -m USER_AVC --success no -ua %s -i:\n%s", uid,
		ad.SearchUnenriched(t, "-m", "USER_AVC", "--success", "no", "-ua", uid, "-i"))
}
