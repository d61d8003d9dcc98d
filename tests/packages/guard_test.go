// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

const (
	guardService = "virt-acl-helper-guard.service"
	guardSocket  = "virt-acl-helper-guard.socket"
	guardSocketR = "virt-acl-helper-guard-ro.socket"
	guardPath    = "/run/virt-acl-helper/libvirt-sock"
	guardURI     = "qemu:///system?socket=" + guardPath
	guardROURI   = "qemu:///system?socket=/run/virt-acl-helper/libvirt-sock-ro"
	lockdown     = "/usr/share/virt-acl-helper/lockdown/lockdown"
	libvirtSock  = "/run/libvirt/libvirt-sock"
)

// TestBootedGuard installs the freshly built .deb in a container running
// a real systemd, with Debian's socket-activated libvirtd, and checks the
// guard's deployment: its units come installed but disabled; "lockdown
// enable" starts its sockets, makes libvirtd's sockets root-only and sets
// users' default URI; an unprivileged user's virsh then cannot reach
// libvirtd directly but can through the guard, which socket activation
// starts, hardened, and which decides (an anonymous list is allowed, a
// define is denied); "lockdown disable" puts libvirtd's sockets back; and
// removal stops the guard.
func TestBootedGuard(t *testing.T) {
	testsys.NeedRoot(t)
	testsys.NeedCommand(t, "/usr/sbin/libvirtd")
	testsys.NeedCommand(t, "virsh")
	pkg, _ := debFiles(t)
	// The container's libvirtd shares the kernel and the cores with the
	// host's: one at a time.
	testsys.LockLibvirtd(t)
	c := bootWith(t, pkg, guardService, guardSocket, "libvirtd.service", "libvirtd.socket")

	c.must(t, "dpkg", "-i", "/mnt/vah/"+filepath.Base(pkg))
	for _, u := range []string{guardSocket, guardSocketR, guardService} {
		if got := c.unitState(t, u); got != "inactive" {
			t.Errorf("after installation %s is %q, want inactive: the guard is opt-in", u, got)
		}
	}
	if out, _ := c.exec(t, nil, "systemctl", "is-enabled", guardSocket); strings.TrimSpace(out) != "disabled" {
		t.Errorf("after installation %s is %q, want disabled", guardSocket, strings.TrimSpace(out))
	}
	if out := c.must(t, "systemd-analyze", "verify", "--man=no", guardSocket, guardSocketR, guardService); out != "" {
		t.Errorf("systemd-analyze verify in the container:\n%s", out)
	}
	checkExposure(t, guardService, c.must(t, "systemd-analyze", "security", "--no-pager", guardService))

	tag := randomTag(t)
	user := "vahgd" + tag
	c.must(t, "useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", user)
	virsh := func(uri string, args ...string) (string, int) {
		return c.exec(t, nil, append([]string{"setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--",
			"env", "HOME=/nonexistent", "LC_ALL=C", "virsh", "-q", "-c", uri}, args...)...)
	}
	if mode := socketMode(t, c, libvirtSock); mode != "666" {
		t.Fatalf("before the lockdown %s has mode %s, want Debian's 666", libvirtSock, mode)
	}

	// libvirtd's TLS socket is not behind the guard: enable refuses it
	// and changes nothing.
	c.must(t, "systemctl", "enable", "libvirtd-tls.socket")
	if out, code := c.exec(t, nil, lockdown, "enable"); code == 0 || !strings.Contains(out, "libvirtd-tls.socket") {
		t.Errorf("lockdown enable with libvirtd-tls.socket enabled: exit status %d, want a refusal naming it:\n%s", code, out)
	}
	if mode := socketMode(t, c, libvirtSock); mode != "666" {
		t.Errorf("after the refused lockdown %s has mode %s, want 666 (unchanged)", libvirtSock, mode)
	}
	c.must(t, "systemctl", "disable", "libvirtd-tls.socket")

	// Lock down: only root reaches libvirtd; the guard listens.
	t.Logf("lockdown enable:\n%s", c.must(t, lockdown, "enable"))
	t.Logf("lockdown status:\n%s", c.must(t, lockdown, "status"))
	for _, s := range []string{libvirtSock, libvirtSock + "-ro"} {
		if mode := socketMode(t, c, s); mode != "600" {
			t.Errorf("locked down, %s has mode %s, want 600", s, mode)
		}
	}
	if out, code := virsh("qemu:///system", "uri"); code == 0 || !strings.Contains(out, "Permission denied") {
		t.Errorf("locked down, %s reached libvirtd directly (exit status %d):\n%s", user, code, out)
	}

	// Through the guard: socket activation starts it, it decides, and
	// libvirtd answers.
	start := time.Now()
	if out, code := virsh(guardURI, "list", "--all"); code != 0 {
		t.Fatalf("virsh list --all through the guard as %s: exit status %d:\n%s", user, code, out)
	}
	t.Logf("first virsh list through the guard (activating it and libvirtd): %v", time.Since(start).Round(time.Millisecond))
	if got := c.unitState(t, guardService); got != "active" {
		t.Fatalf("after a client %s is %q, want active", guardService, got)
	}
	checkHardening(t, c, guardService)
	checkWriterYields(t, c, guardService)
	if out, code := virsh(guardROURI, "list", "--all"); code != 0 {
		t.Errorf("virsh list --all through the guard's read-only socket: exit status %d:\n%s", code, out)
	}
	c.writeFile(t, "/tmp/vah-guard-vm.xml", "<domain type='qemu'><name>vahgd-"+tag+"</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e1999</uuid><memory unit='MiB'>64</memory>"+
		"<os><type arch='x86_64'>hvm</type></os></domain>\n")
	if out, code := virsh(guardURI, "define", "/tmp/vah-guard-vm.xml"); code == 0 || !strings.Contains(out, "access denied") {
		t.Errorf("virsh define through the guard as %s: exit status %d, want access denied:\n%s", user, code, out)
	}
	profile := `. /etc/profile.d/virt-acl-helper-guard.sh && echo "$LIBVIRT_DEFAULT_URI"`
	if out, _ := c.exec(t, nil, "setpriv", "--reuid="+user, "--regid="+user, "--init-groups", "--", "sh", "-c", profile); strings.TrimSpace(out) != guardURI {
		t.Errorf("users' LIBVIRT_DEFAULT_URI is %q, want %q", strings.TrimSpace(out), guardURI)
	}

	// A TCP listener turned on after the lockdown is reported as a bypass.
	c.must(t, "systemctl", "enable", "libvirtd-tcp.socket")
	if out, code := c.exec(t, nil, lockdown, "status"); code == 0 || !strings.Contains(out, "bypass, not behind the guard: libvirtd-tcp.socket") {
		t.Errorf("lockdown status with libvirtd-tcp.socket enabled: exit status %d, want it reported as a bypass:\n%s", code, out)
	}
	c.must(t, "systemctl", "disable", "libvirtd-tcp.socket")

	// Idle, the guard exits; its socket starts it again. Its watchdog is on.
	if out := c.must(t, "systemctl", "show", "-p", "WatchdogUSec", guardService); strings.TrimSpace(out) != "WatchdogUSec=1min" {
		t.Errorf("%s: %s, want WatchdogUSec=1min", guardService, strings.TrimSpace(out))
	}
	c.must(t, "sh", "-c", "echo 'guard_idle_timeout = 2' >>"+confPath)
	c.must(t, "systemctl", "reload", guardService)
	t.Logf("idle exit after %v", c.waitUnitState(t, guardService, "inactive", 30*time.Second).Round(time.Second))
	if got := c.unitState(t, guardSocket); got != "active" {
		t.Errorf("after the guard's idle exit %s is %q, want active (listening)", guardSocket, got)
	}
	if out, code := virsh(guardURI, "list", "--all"); code != 0 {
		t.Errorf("virsh list --all after the guard's idle exit: exit status %d:\n%s", code, out)
	}
	if got := c.unitState(t, guardService); got != "active" {
		t.Errorf("after a client following the idle exit %s is %q, want active again", guardService, got)
	}

	// Undo: libvirtd's sockets as Debian has them, the guard still there.
	t.Logf("lockdown disable:\n%s", c.must(t, lockdown, "disable"))
	if out, code := c.exec(t, nil, lockdown, "status"); code == 0 {
		t.Errorf("lockdown status after disable: exit status 0, want 1:\n%s", out)
	}
	if mode := socketMode(t, c, libvirtSock); mode != "666" {
		t.Errorf("after lockdown disable %s has mode %s, want 666", libvirtSock, mode)
	}
	for _, p := range []string{"/etc/profile.d/virt-acl-helper-guard.sh", "/etc/systemd/system/libvirtd.socket.d"} {
		if _, code := c.exec(t, nil, "test", "-e", p); code == 0 {
			t.Errorf("after lockdown disable %s is still there", p)
		}
	}
	if out, code := virsh(guardURI, "list", "--all"); code != 0 {
		t.Errorf("virsh list --all through the guard after lockdown disable: exit status %d:\n%s", code, out)
	}

	// Removal stops the guard.
	c.must(t, "dpkg", "--purge", "virt-acl-helper")
	for _, u := range []string{guardService, guardSocket, guardSocketR} {
		if got := c.unitState(t, u); got != "inactive" && got != "unknown" {
			t.Errorf("after purge %s is %q", u, got)
		}
	}
	if out, code := c.exec(t, nil, "pgrep", "-a", "-f", "virt-acl-helper guard"); code == 0 {
		t.Errorf("after purge the guard still runs: %s", out)
	}
}

// socketMode returns a socket's permission bits, in octal, and fails the
// test unless it is a socket owned by root.
func socketMode(t *testing.T, c *container, path string) string {
	t.Helper()
	f := strings.Fields(c.must(t, "stat", "-c", "%F %U %a", path))
	if len(f) != 3 || f[0] != "socket" || f[1] != "root" {
		t.Fatalf("%s: %q, want a socket owned by root", path, f)
	}
	return f[2]
}
