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

// listRecord finds a list record's counts (auditd quotes them).
var listRecord = regexp.MustCompile(`listed="?(\d+)"? shown="?(\d+)"? hidden="?(\d+)"?`)

// newAuditedFilterWorld is a filterWorld with a guard of its own (its
// URI) auditing to the real kernel and auditd at audit_level 2, with
// decisions cached.
func newAuditedFilterWorld(t *testing.T) (*testsys.Auditd, *filterWorld, string) {
	return newAuditedFilterWorldWith(t, auditedWorld{})
}

// auditedWorld changes newAuditedFilterWorld's guard.
type auditedWorld struct {
	// wrap, if set, stands between the engine and the kernel's auditor.
	wrap func(*filterWorld, access.Auditor) access.Auditor
	// upstream, if set, is the socket the guard takes for libvirtd's.
	upstream func(*filterWorld) string
	// maxEventCallbacks, if set, is guard_max_event_callbacks.
	maxEventCallbacks int
}

// newAuditedFilterWorldWith is newAuditedFilterWorld with o's changes.
func newAuditedFilterWorldWith(t *testing.T, o auditedWorld) (*testsys.Auditd, *filterWorld, string) {
	// The audit lock first, then libvirtd's: the order every test
	// taking both keeps (the other order deadlocks with them).
	ad := testsys.StartAuditd(t)
	w := newFilterWorld(t)
	aw, err := audit.Open(audit.Config{Level: audit.Required})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aw.Close() })
	auditor := access.AuditTo(aw)
	if o.wrap != nil {
		auditor = o.wrap(w, auditor)
	}
	upstream := w.lv.Socket
	if o.upstream != nil {
		upstream = o.upstream(w)
	}
	g := &engine.Generation{Engine: newCachedEngine(t, w.bus, auditor)}
	g.Config.GuardMaxEventCallbacks = o.maxEventCallbacks
	rt := engine.New(g, engine.Options{})
	return ad, w, serveGuard(t, filepath.Join(guardDir(t), "guard.sock"), guard.Options{Runtime: rt, Upstream: upstream})
}

// TestGuardFilterAudit shows what an auditor finds with ausearch after a
// restricted user listed the VMs twice through a guard auditing to the
// real kernel and auditd (audit_level 2, decisions cached): one record
// per list, a denial with reason=filtered saying how many VMs it hid,
// and one record per VM decided afresh, the first time only; the second
// list, answered from the cache (cached=yes), adds its own record and
// nothing more.
func TestGuardFilterAudit(t *testing.T) {
	ad, w, uri := newAuditedFilterWorld(t)
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
	counts := listRecord.FindAllStringSubmatch(lists, -1)
	if len(counts) != 2 {
		t.Errorf("%d list records with counts, want 2:\n%s", len(counts), lists)
	}
	for _, m := range counts {
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

// eventOperation is the event virsh's lifecycle callback receives.
const eventOperation = "operation=REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE"

// TestGuardEventAudit shows what an auditor finds after a restricted user
// watched lifecycle events through a guard auditing to the real kernel
// and auditd (audit_level 2, decisions cached) while root redefined the
// user's VM and another three times each: every event has a record of
// its own, shaped as a list's (a list of one), granted with shown=1 for
// the user's VM, denied with reason=filtered and hidden=1 for the other,
// whether its decision was made afresh (cached=no, with the object's own
// record beside it) or came from the cache (cached=yes, no other record).
func TestGuardEventAudit(t *testing.T) {
	ad, w, uri := newAuditedFilterWorld(t)
	const times = 3
	out := watchRedefined(t, w, uri, 12, times, []string{w.vmA, w.vmB}, "event", "--event", "lifecycle")
	if n := strings.Count(out, fmt.Sprintf("for domain '%s': Defined", w.vmA)); n != times || strings.Contains(out, w.vmB) {
		t.Fatalf("A saw %d events of %s, want %d, and none of %s:\n%s", n, w.vmA, times, w.vmB, out)
	}

	uid := fmt.Sprint(w.a.UID)
	events := func(out string) []string {
		var recs []string
		for _, l := range strings.Split(out, "\n") {
			if m := listRecord.FindStringSubmatch(l); m != nil && m[1] == "1" && strings.Contains(l, eventOperation) {
				recs = append(recs, l)
			}
		}
		return recs
	}
	hiddenOut := ad.WaitSearch(t, func(out string) bool { return len(events(out)) >= times },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	shownOut := ad.WaitSearch(t, func(out string) bool { return len(events(out)) >= times },
		"-m", "USER_AVC", "--success", "yes", "-ua", uid)
	cached := 0
	for _, tt := range []struct {
		vm, out, want, counts string
	}{
		{w.vmB, hiddenOut, "decision=denied reason=filtered", `listed="?1"? shown="?0"? hidden="?1"?`},
		{w.vmA, shownOut, "decision=granted", `listed="?1"? shown="?1"? hidden="?0"?`},
	} {
		recs := events(tt.out)
		fresh := 0
		for _, r := range recs {
			if !strings.Contains(r, tt.want) || !regexp.MustCompile(tt.counts).MatchString(r) || !strings.Contains(r, "tclass=domain") {
				t.Errorf("event record of %s: want %s and %s:\n%s", tt.vm, tt.want, tt.counts, r)
			}
			if strings.Contains(r, "cached=no") {
				fresh++
			}
		}
		if len(recs) != times {
			t.Errorf("%d event records for %s, want %d:\n%s", len(recs), tt.vm, times, strings.Join(recs, "\n"))
		}
		cached += len(recs) - fresh
		// The object's own records: one per event decided afresh.
		own := ad.Search(t, "-m", "USER_AVC", "-w", "--vm-name", tt.vm, "-ua", uid)
		if n := strings.Count(own, eventOperation); n != fresh || fresh == 0 {
			t.Errorf("%d records of %s's own for its events, want one per event decided afresh (%d):\n%s", n, tt.vm, fresh, own)
		}
	}
	// Another test's polkit rules changing flushes the cache; between
	// every two of six events in a second it would be a wonder.
	if cached == 0 {
		t.Errorf("no event record says cached=yes")
	}
	t.Logf("ausearch -m USER_AVC -ua %s -i:\n%s", uid, ad.SearchUnenriched(t, "-m", "USER_AVC", "-ua", uid, "-i"))
}
