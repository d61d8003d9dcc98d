// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

var listRecord = regexp.MustCompile(`listed=(\d+) shown=(\d+) hidden=(\d+)`)

// TestGuardFilterAudit shows what an auditor finds with ausearch after a
// restricted user listed the VMs twice through a guard auditing to the
// real kernel and auditd (audit_level 2, decisions cached): one record
// per list, a denial with reason=filtered saying how many VMs it hid,
// and one record per VM decided afresh, the first time only; the second
// list, answered from the cache (cached=yes), adds its own record and
// nothing more.
func TestGuardFilterAudit(t *testing.T) {
	// The audit lock first, then libvirtd's: the order every test
	// taking both keeps (the other order deadlocks with them).
	ad := testsys.StartAuditd(t)
	w := newFilterWorld(t)
	aw, err := audit.Open(audit.Config{Level: audit.Required})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aw.Close() })
	rt := engine.New(&engine.Generation{Engine: newCachedEngine(t, w.bus, access.AuditTo(aw))}, engine.Options{})
	uri := serveGuard(t, filepath.Join(guardDir(t), "guard.sock"), guard.Options{Runtime: rt, Upstream: w.lv.Socket})
	for i := range 2 {
		out, err := testsys.VirshURI(uri, &w.a, "list", "--all", "--name")
		if err != nil || strings.TrimSpace(out) != w.vmA {
			t.Fatalf("list %d as A: %v\n%s", i, err, out)
		}
	}
	uid := fmt.Sprint(w.a.UID)
	lists := ad.WaitSearch(t, func(out string) bool { return strings.Count(out, "reason=filtered") >= 2 },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	if n := strings.Count(lists, "reason=filtered"); n != 2 {
		t.Errorf("%d records of filtered lists, want 2:\n%s", n, lists)
	}
	for _, m := range listRecord.FindAllStringSubmatch(lists, -1) {
		if m[2] != "1" || m[3] == "0" {
			t.Errorf("list record %q: want shown=1 and something hidden", m[0])
		}
	}
	if !strings.Contains(lists, "operation=REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS") || !strings.Contains(lists, "tclass=domain") {
		t.Errorf("list records without their procedure or type:\n%s", lists)
	}
	// Another test's polkit rules changing flushes the cache: a list
	// then decides afresh, and its record says cached=no.
	fresh := strings.Count(lists, "cached=no")
	for vm, want := range map[string]string{w.vmB: "decision=denied reason=policy", w.vmA: "decision=granted"} {
		out := ad.Search(t, "-m", "USER_AVC", "-w", "--vm-name", vm, "-ua", uid)
		n := strings.Count(out, "type=USER_AVC")
		if n < 1 || n > fresh || strings.Count(out, want) != n || strings.Contains(out, "cached=yes") {
			t.Errorf("ausearch --vm-name %s -ua %s: %d records, want one %s, cached=no, per list decided afresh (%d):\n%s",
				vm, uid, n, want, fresh, out)
		}
	}
	t.Logf("ausearch -m USER_AVC --success no -ua %s -i:\n%s", uid,
		ad.SearchUnenriched(t, "-m", "USER_AVC", "--success", "no", "-ua", uid, "-i"))
}
