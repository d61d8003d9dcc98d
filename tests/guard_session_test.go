// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// denyConnectRule refuses one user connect:getattr, the @acl of
// CONNECT_OPEN: the user may not open a connection at all.
const denyConnectRule = `polkit.addRule(function(action, subject) {
    if (subject.user == %q && action.id == "org.libvirt.api.connect.getattr") {
        return polkit.Result.NO;
    }
    return polkit.Result.NOT_HANDLED;
});`

// TestGuardOpenDeniedLikeLibvirtd runs real virsh as a real user denied
// connect:getattr, against libvirtd's own polkit access driver and
// through the guard (in front of a libvirtd without access control): both
// fail to connect with libvirt's access-denied error, and the guard
// audits the denial of CONNECT_OPEN it decided before libvirtd saw the
// call.
func TestGuardOpenDeniedLikeLibvirtd(t *testing.T) {
	testsys.NeedRoot(t)
	bus := testsys.StartBus(t)
	pk := testsys.StartPolkitd(t, bus)
	u := testsys.AddUser(t, "guardo")
	outs := map[string]string{}
	t.Run("libvirtd polkit driver", func(t *testing.T) {
		lv := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{AccessDrivers: []string{"polkit"}, Bus: bus})
		pk.AddRule(t, "guard-open", fmt.Sprintf(denyConnectRule, u.Name))
		out, err := testsys.VirshURI(lv.URI, &u, "uri")
		if err == nil {
			t.Fatalf("virsh uri as %s straight to libvirtd: allowed, want denied:\n%s", u.Name, out)
		}
		outs["libvirtd"] = out
	})
	t.Run("guard", func(t *testing.T) {
		lv := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{}) // access_drivers: none
		pk.AddRule(t, "guard-open", fmt.Sprintf(denyConnectRule, u.Name))
		audit := &memAuditor{}
		uri := serveGuard(t, filepath.Join(guardDir(t), "guard.sock"), guard.Options{
			Runtime: newGuardRuntime(t, bus, audit), Upstream: lv.Socket})
		out, err := testsys.VirshURI(uri, &u, "uri")
		if err == nil {
			t.Fatalf("virsh uri as %s through the guard: allowed, want denied:\n%s", u.Name, out)
		}
		outs["guard"] = out
		if !audit.saw(guard.FrontEnd, "REMOTE_PROC_CONNECT_OPEN", false) {
			t.Errorf("no denial of CONNECT_OPEN audited: %v", audit.ops())
		}
		if audit.saw(guard.FrontEnd, "REMOTE_PROC_CONNECT_OPEN", true) {
			t.Errorf("CONNECT_OPEN was also allowed: %v", audit.ops())
		}
		// The root next door is unaffected.
		if out, err := testsys.VirshURI(uri, nil, "uri"); err != nil {
			t.Errorf("virsh uri as root through the guard: %v\n%s", err, out)
		}
	})
	for who, out := range outs {
		for _, want := range []string{"failed to connect to the hypervisor", "access denied"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: virsh says %q, want %q in it", who, strings.TrimSpace(out), want)
			}
		}
	}
	if len(outs) != 2 {
		t.Fatal("a configuration did not run")
	}
	t.Logf("libvirtd: %s\nguard: %s", strings.TrimSpace(outs["libvirtd"]), strings.TrimSpace(outs["guard"]))
}
