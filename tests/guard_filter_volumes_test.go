// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"cmp"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// The transient dir pool of TestGuardVolumeListLookupLost, with volumes
// volA (hidden from user A) and volB (shown).
const (
	gvlPool          = "vah-gvl-pool"
	gvlVolA, gvlVolB = "vah-gvl-a", "vah-gvl-b"
)

// gvlRule lets user A see the pool and volume B, no other volume
// (libvirt's action defaults would let anyone look), and register for
// pool events (the wait between the two lists).
const gvlRule = `polkit.addRule(function(action, subject) {
    if (subject.user != %q) {
        return polkit.Result.NOT_HANDLED;
    }
    if (["org.libvirt.api.connect.getattr", "org.libvirt.api.connect.read",
         "org.libvirt.api.connect.search-storage-pools"].indexOf(action.id) >= 0) {
        return polkit.Result.YES;
    }
    if (action.id.indexOf("org.libvirt.api.storage-pool.") == 0 && action.lookup("pool_name") == %q) {
        return polkit.Result.YES;
    }
    if (action.id.indexOf("org.libvirt.api.storage-vol.") == 0) {
        return action.lookup("pool_name") == %q && action.lookup("vol_name") == %q ?
            polkit.Result.YES : polkit.Result.NO;
    }
    return polkit.Result.NOT_HANDLED;
});`

// TestGuardVolumeListLookupLost: user A, through the guard, lists the
// volumes of a pool and is shown only volume B; then, on the same
// connection, the guard's own lookup connection to libvirtd is cut
// (virt-admin client-disconnect) and the same list is refused, not
// answered short of volume B, and the refusal audited. (The guard's
// check of the call itself, on the pool, is what fails first here: the
// lookup of a listed volume's pool, after libvirtd's answer, fails the
// same way only if the connection goes in between, which
// guard.TestListedVolumeLibvirtd does.)
func TestGuardVolumeListLookupLost(t *testing.T) {
	w := newGuardWorld(t)
	admin := testsys.NeedCommand(t, "virt-admin")
	w.pk.AddRule(t, "guard-volumes", fmt.Sprintf(gvlRule, w.a.Name, gvlPool, gvlPool, gvlVolB))
	w.lv.TransientPool(t, gvlPool, gvlVolA, gvlVolB)

	adminURI := "libvirtd:///system?socket=" + filepath.Join(w.lv.Dir, "libvirt-admin-sock")
	before := libvirtdClients(t, admin, adminURI)
	// One virsh, one connection: the list, a wait (pool events, none
	// come) while the guard's lookup connection is cut, the list again.
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := w.virsh(w.a, fmt.Sprintf("vol-list %s; pool-event --pool %s --event lifecycle --timeout 10; vol-list %s", gvlPool, gvlPool, gvlPool))
		done <- result{out, err}
	}()
	lookup := waitLookupClient(t, w, admin, adminURI, before)
	refusals := w.audit.count(guard.FrontEnd, "REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES", false)
	if out, err := exec.Command(admin, "-c", adminURI, "client-disconnect", "--server", "libvirtd", lookup).CombinedOutput(); err != nil {
		t.Fatalf("virt-admin client-disconnect %s: %v: %s", lookup, err, out)
	}
	r := <-done
	t.Logf("virsh as A:\n%s", r.out)
	first, second, ok := strings.Cut(r.out, "event loop timed out")
	if !ok {
		t.Fatalf("virsh as A did not wait for pool events: %v", r.err)
	}
	if !strings.Contains(first, gvlVolB) || strings.Contains(first, gvlVolA) {
		t.Errorf("first list: want %s only", gvlVolB)
	}
	if r.err == nil || strings.Contains(second, gvlVolB) || !strings.Contains(second, "'guard' refused REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES") {
		t.Errorf("second list (lookup connection lost): %v; want the guard's refusal", r.err)
	}
	if w.audit.count(guard.FrontEnd, "REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES", false) <= refusals {
		t.Errorf("the refusal of the second list is not audited: %v", w.audit.ops())
	}
}

// clientID is a client's id in virt-admin srv-clients-list's table.
var clientID = regexp.MustCompile(`(?m)^\s*(\d+)\s+unix\b`)

// libvirtdClients lists the ids of libvirtd's clients, by virt-admin.
func libvirtdClients(t *testing.T, admin, uri string) []string {
	t.Helper()
	out, err := exec.Command(admin, "-c", uri, "srv-clients-list", "libvirtd").CombinedOutput()
	if err != nil {
		t.Fatalf("virt-admin srv-clients-list: %v: %s", err, out)
	}
	var ids []string
	for _, m := range clientID.FindAllStringSubmatch(string(out), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// waitLookupClient waits until user A's first list has been decided and
// the guard's session holds its two libvirtd connections (not in before),
// and returns the id of the lookup connection: the later one, as the
// guard opens it after libvirtd answered the client's CONNECT_OPEN.
func waitLookupClient(t *testing.T, w *guardWorld, admin, uri string, before []string) string {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		var fresh []string
		for _, id := range libvirtdClients(t, admin, uri) {
			if !slices.Contains(before, id) {
				fresh = append(fresh, id)
			}
		}
		if len(fresh) == 2 && w.audit.saw(guard.FrontEnd, "REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY", true) {
			return slices.MaxFunc(fresh, func(a, b string) int { return cmp.Compare(len(a), len(b))*2 + strings.Compare(a, b) })
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the guard's session and its pool event registration did not show within 8s: %v", w.audit.ops())
	return ""
}
