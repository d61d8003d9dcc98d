// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

const (
	service    = "virt-acl-helper.service"
	socket     = "virt-acl-helper.socket"
	socketPath = "/run/virt-acl-helper/virt-acl-helper.sock"
	confPath   = "/etc/virt-acl-helper/virt-acl-helper.conf"
	// idleTimeout is the daemon's idle_timeout in the test, in seconds.
	idleTimeout = 5
)

// capAuditWrite is CAP_AUDIT_WRITE's bit in /proc/PID/status's Cap* masks.
const capAuditWrite = 1 << 29

// TestBootedSystemd installs the freshly built .deb in a container running
// a real systemd and checks, with systemd in charge: the socket listens
// and the service does not run; an unprivileged user's check starts the
// service by socket activation and gets its polkit rule's answer; the
// decisions reach the host's audit log; the hardened service runs with
// CAP_AUDIT_WRITE alone, keeps the watchdog fed, reloads, and exits when
// idle while the socket listens; the packaged example rule answers as it
// says; restarts, reinstallation, removal and purge leave no running
// service and no stale socket. It runs in about 40 s.
func TestBootedSystemd(t *testing.T) {
	testsys.NeedRoot(t)
	pkg, _ := debFiles(t)
	audit := testsys.StartAuditd(t)
	start := time.Now()

	c := bootWith(t, pkg, service, socket, "polkit.service")

	// Install: the socket listens, the service waits for a client.
	c.must(t, "dpkg", "-i", "/mnt/vah/"+filepath.Base(pkg))
	if got := c.unitState(t, socket); got != "active" {
		t.Fatalf("after installation %s is %q, want active", socket, got)
	}
	if got := c.unitState(t, service); got != "inactive" {
		t.Fatalf("after installation %s is %q, want inactive: the socket starts it", service, got)
	}
	if got := c.must(t, "stat", "-c", "%F %a %U", socketPath); strings.TrimSpace(got) != "socket 666 root" {
		t.Errorf("%s: %q, want a socket, mode 666, owned by root", socketPath, got)
	}
	if out := c.must(t, "systemd-analyze", "verify", "--man=no", socket, service); out != "" {
		t.Errorf("systemd-analyze verify in the container:\n%s", out)
	}
	sec := c.must(t, "systemd-analyze", "security", "--no-pager", service)
	t.Logf("systemd-analyze security (the booted systemd):\n%s", sec)
	checkExposure(t, service, sec)

	// A user, a rule allowing them to start one VM, a short idle time and
	// mandatory auditing (audit_level 2: no record, no decision).
	tag := randomTag(t)
	user := "vahns" + tag
	vmAllowed, vmDenied := "web-"+tag, "db-"+tag
	c.must(t, "useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", user)
	uid := strings.TrimSpace(c.must(t, "id", "-u", user))
	c.writeFile(t, "/etc/polkit-1/rules.d/50-vah-nspawn-test.rules", fmt.Sprintf(`
polkit.addRule(function(action, subject) {
    if (subject.user == %q && action.id == "org.libvirt.api.domain.start" &&
        action.lookup("connect_driver") == "QEMU" && action.lookup("domain_name") == %q) {
        return polkit.Result.YES;
    }
});
`, user, vmAllowed))
	conf := c.must(t, "cat", confPath)
	c.writeFile(t, confPath, conf+fmt.Sprintf("\n# The package test's settings.\nidle_timeout = %d\naudit_level = 2\n", idleTimeout))
	c.must(t, "virt-acl-helper", "config", "check")

	check := func(vm string) (string, int) {
		return c.exec(t, nil, "setpriv", "--reuid="+user, "--regid="+user, "--init-groups", "--",
			"virt-acl-helper", "check", "domain", "start", "--name", vm,
			"--uuid", "6695eb01-f6a4-8304-79aa-97f2502e193f", "--driver", "QEMU")
	}
	wantCheck := func(what, vm string, want int) {
		t.Helper()
		out, code := check(vm)
		if code != want {
			t.Fatalf("%s: check domain start --name %s as %s: exit status %d, want %d:\n%s", what, vm, user, code, want, out)
		}
	}

	// Socket activation: the first check starts the service.
	wantCheck("first check", vmAllowed, 0)
	if got := c.unitState(t, service); got != "active" {
		t.Fatalf("after a check %s is %q, want active", service, got)
	}
	wantCheck("denied check", vmDenied, 1)
	checkHardening(t, c, service)

	// The decisions are in the host's audit log.
	for _, d := range []struct{ vm, res string }{{vmAllowed, "res=success"}, {vmDenied, "res=failed"}} {
		rec := audit.WaitSearch(t, func(out string) bool { return strings.Contains(out, d.res) },
			"-m", "USER_AVC", "--vm-name", d.vm)
		t.Logf("audit record for %s:\n%s", d.vm, strings.TrimSpace(rec))
		if !strings.Contains(rec, " uid="+uid+" ") {
			t.Errorf("the record for %s does not name the user's uid %s:\n%s", d.vm, uid, rec)
		}
		if m := regexp.MustCompile(` exe=(\S+)`).FindStringSubmatch(rec); m == nil {
			t.Errorf("the record for %s has no exe field:\n%s", d.vm, rec)
		} else {
			// Without CAP_SYS_PTRACE the daemon cannot read another
			// process's /proc/PID/exe; see units/virt-acl-helper.service.
			t.Logf("exe in the record: %s", m[1])
		}
	}

	// Idle exit: the service goes, cleanly, and the socket stays.
	waited := c.waitUnitState(t, service, "inactive", idleTimeout*time.Second+30*time.Second)
	t.Logf("the service exited %v after the check (idle_timeout %d s)", waited.Round(100*time.Millisecond), idleTimeout)
	show := c.must(t, "systemctl", "show", "-p", "Result,ExecMainStatus,NRestarts", service)
	for _, want := range []string{"Result=success", "ExecMainStatus=0", "NRestarts=0"} {
		if !strings.Contains(show, want) {
			t.Errorf("after the idle exit %s shows:\n%s\nwant %s", service, show, want)
		}
	}
	socketListens(t, c)
	wantCheck("check after the idle exit", vmAllowed, 0)

	// The watchdog: with WatchdogSec=1s the daemon must keep pinging.
	dropIn := "/etc/systemd/system/" + service + ".d"
	c.must(t, "mkdir", "-p", dropIn)
	c.writeFile(t, dropIn+"/watchdog.conf", "[Service]\nWatchdogSec=1s\n")
	c.must(t, "systemctl", "daemon-reload")
	c.must(t, "systemctl", "restart", service)
	before := strings.TrimSpace(c.must(t, "systemctl", "show", "-P", "MainPID", service))
	// ExecReload= (SIGHUP) inside the sandbox: same process, still serving.
	c.must(t, "systemctl", "reload", service)
	if after := strings.TrimSpace(c.must(t, "systemctl", "show", "-P", "MainPID", service)); after != before {
		t.Errorf("systemctl reload replaced the daemon: main pid %s, then %s", before, after)
	}
	wantCheck("check after reload", vmAllowed, 0)
	// Three watchdog intervals. The daemon may leave when idle meanwhile,
	// cleanly; a missed ping would kill it (Result=watchdog) and restart it.
	time.Sleep(3500 * time.Millisecond)
	show = c.must(t, "systemctl", "show", "-p", "Result,NRestarts,MainPID,ActiveState", service)
	if !strings.Contains(show, "Result=success") || !strings.Contains(show, "NRestarts=0") ||
		strings.Contains(show, "ActiveState=active") && !strings.Contains(show, "MainPID="+before+"\n") {
		t.Errorf("with WatchdogSec=1s (daemon pid %s):\n%s", before, show)
	}
	c.must(t, "rm", "-r", dropIn)
	c.must(t, "systemctl", "daemon-reload")

	// Restarts: the service restarted by hand still gets the socket and
	// still leaves when idle; a restarted socket listens again.
	c.must(t, "systemctl", "restart", service)
	if got := c.unitState(t, service); got != "active" {
		t.Fatalf("after systemctl restart %s is %q", service, got)
	}
	wantCheck("check after restarting the service", vmAllowed, 0)
	c.must(t, "systemctl", "restart", socket)
	socketListens(t, c)
	wantCheck("check after restarting the socket", vmAllowed, 0)
	c.waitUnitState(t, service, "inactive", idleTimeout*time.Second+30*time.Second)
	socketListens(t, c)

	// The packaged example rule, as its comment says to use it: a member
	// of "vmusers" may start and open the console of their own VMs only.
	owner := "vahex" + tag
	c.must(t, "groupadd", "--force", "vmusers")
	c.must(t, "useradd", "--no-create-home", "--user-group", "--groups", "vmusers", "--shell", "/usr/sbin/nologin", owner)
	c.must(t, "cp", "/usr/share/doc/virt-acl-helper/examples/50-virt-acl-helper-example.rules", "/etc/polkit-1/rules.d/")
	for _, ex := range []struct {
		user, perm, vm string
		want           int
	}{
		{owner, "start", owner + "-web", 0},
		{owner, "open_device", owner + "-web", 0},
		{owner, "delete", owner + "-web", 1},
		{owner, "start", "other-web", 1},
		{user, "start", user + "-web", 1}, // not in vmusers
	} {
		out, code := c.exec(t, nil, "setpriv", "--reuid="+ex.user, "--regid="+ex.user, "--init-groups", "--",
			"virt-acl-helper", "check", "domain", ex.perm, "--name", ex.vm,
			"--uuid", "6695eb01-f6a4-8304-79aa-97f2502e1941", "--driver", "QEMU")
		if code != ex.want {
			t.Errorf("example rule: %s: check domain %s --name %s: exit status %d, want %d:\n%s", ex.user, ex.perm, ex.vm, code, ex.want, out)
		}
	}

	// Reinstalling, as an upgrade does, while the service runs: postinst
	// restarts the socket, which restarts the service.
	wantCheck("check before reinstalling", vmAllowed, 0)
	c.must(t, "dpkg", "--install", "--force-confold", "/mnt/vah/"+filepath.Base(pkg))
	socketListens(t, c)
	wantCheck("check after reinstalling", vmAllowed, 0)
	if got := c.must(t, "grep", "-c", "^idle_timeout", confPath); strings.TrimSpace(got) != "1" {
		t.Errorf("reinstalling lost the changed %s", confPath)
	}

	// Removal while the service runs: nothing of it is left running.
	wantCheck("check before removal", vmAllowed, 0)
	if got := c.unitState(t, service); got != "active" {
		t.Fatalf("before removal %s is %q, want active", service, got)
	}
	c.must(t, "dpkg", "--remove", "virt-acl-helper")
	for _, u := range []string{service, socket} {
		if got := c.unitState(t, u); got != "inactive" && got != "unknown" {
			t.Errorf("after removal %s is %q", u, got)
		}
	}
	noDaemon(t, c, "removal")
	if _, code := c.exec(t, nil, "test", "-e", confPath); code != 0 {
		t.Errorf("removal deleted %s, a conffile (only purge should)", confPath)
	}

	// Purge: the configuration and the socket's enablement go too.
	c.must(t, "dpkg", "--purge", "virt-acl-helper")
	noDaemon(t, c, "purge")
	for _, p := range []string{"/etc/virt-acl-helper", "/etc/systemd/system/sockets.target.wants/" + socket} {
		if _, code := c.exec(t, nil, "test", "-e", p); code == 0 {
			t.Errorf("after purge %s still exists", p)
		}
	}
	// list-unit-files exits 1 when no unit matches.
	if out, _ := c.exec(t, nil, "systemctl", "list-unit-files", "--no-legend", "virt-acl-helper*"); strings.TrimSpace(out) != "" {
		t.Errorf("after purge systemd still knows:\n%s", out)
	}
	t.Logf("installed, exercised and purged in %v", time.Since(start).Round(time.Millisecond))
}

// socketListens checks that the socket unit is active and its file is a
// socket that accepts a connection.
func socketListens(t *testing.T, c *container) {
	t.Helper()
	if got := c.unitState(t, socket); got != "active" {
		t.Fatalf("%s is %q, want active", socket, got)
	}
	if out, code := c.exec(t, nil, "test", "-S", socketPath); code != 0 {
		t.Fatalf("%s is not a socket: %s", socketPath, out)
	}
}

// noDaemon checks that no virt-acl-helper process runs and its socket is gone.
func noDaemon(t *testing.T, c *container, after string) {
	t.Helper()
	if out, code := c.exec(t, nil, "pgrep", "-a", "-f", "virt-acl-helper serve"); code == 0 {
		t.Errorf("after %s the daemon still runs: %s", after, out)
	}
	if _, code := c.exec(t, nil, "test", "-e", socketPath); code == 0 {
		t.Errorf("after %s %s is still there", after, socketPath)
	}
}

// checkHardening reads the running service's credentials from /proc: uid
// 0 (polkit takes details from root only) with CAP_AUDIT_WRITE alone, no
// new privileges, a seccomp filter, a read-only root.
// checkWriterYields checks that svc, auditing at level 1, has one thread
// at nice 10, its audit writer's low thread (the unit allows setpriority),
// and every other thread at the service's priority.
func checkWriterYields(t *testing.T, c *container, svc string) {
	t.Helper()
	pid := strings.TrimSpace(c.must(t, "systemctl", "show", "-P", "MainPID", svc))
	nices := strings.Fields(c.must(t, "ps", "-L", "-o", "ni=", "-p", pid))
	lowered := 0
	for _, n := range nices {
		switch n {
		case "10":
			lowered++
		case "0":
		default:
			t.Errorf("%s has a thread at nice %s", svc, n)
		}
	}
	if lowered != 1 {
		t.Errorf("%s has %d of its %d threads at nice 10, want its audit writer's alone", svc, lowered, len(nices))
	}
}

func checkHardening(t *testing.T, c *container, svc string) {
	t.Helper()
	pid := strings.TrimSpace(c.must(t, "systemctl", "show", "-P", "MainPID", svc))
	if pid == "" || pid == "0" {
		t.Fatalf("%s has no main pid", svc)
	}
	status := c.must(t, "cat", "/proc/"+pid+"/status")
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:\s+(.*)$`).FindStringSubmatch(status)
		if m == nil {
			t.Fatalf("no %s in /proc/%s/status", name, pid)
		}
		return m[1]
	}
	if uids := strings.Fields(field("Uid")); uids[1] != "0" {
		t.Errorf("the daemon runs as uid %s, want 0", uids[1])
	}
	for _, name := range []string{"CapEff", "CapPrm", "CapBnd"} {
		v, err := strconv.ParseUint(field(name), 16, 64)
		if err != nil || v != capAuditWrite {
			t.Errorf("the daemon's %s is %s, want CAP_AUDIT_WRITE (%x) alone", name, field(name), capAuditWrite)
		}
	}
	if v := field("CapAmb"); strings.Trim(v, "0") != "" {
		t.Errorf("the daemon's CapAmb is %s, want none", v)
	}
	if v := field("NoNewPrivs"); v != "1" {
		t.Errorf("NoNewPrivs is %s", v)
	}
	if v := field("Seccomp"); v != "2" {
		t.Errorf("Seccomp is %s, want 2 (filter)", v)
	}

	// The file system as the daemon sees it: the topmost mount at each
	// mount point.
	mounts := map[string]mount{}
	for _, line := range strings.Split(c.must(t, "cat", "/proc/"+pid+"/mountinfo"), "\n") {
		if m, ok := parseMountinfo(line); ok {
			mounts[m.point] = m
		}
	}
	for _, w := range []struct {
		point, directive string
		ok               func(m mount) bool
	}{
		{"/", "ProtectSystem=strict", func(m mount) bool { return m.readOnly() }},
		{"/usr", "ProtectSystem=strict", func(m mount) bool { return m.readOnly() }},
		{"/etc", "ProtectSystem=strict", func(m mount) bool { return m.readOnly() }},
		{"/run", "ReadOnlyPaths=/run", func(m mount) bool { return m.readOnly() }},
		{"/home", "ProtectHome=yes", func(m mount) bool { return m.readOnly() && m.fstype == "tmpfs" }},
		{"/root", "ProtectHome=yes", func(m mount) bool { return m.readOnly() && m.fstype == "tmpfs" }},
		{"/tmp", "PrivateTmp=yes", func(m mount) bool { return strings.Contains(m.root, "systemd-private-") }},
		{"/dev", "PrivateDevices=yes", func(m mount) bool { return m.fstype == "tmpfs" && m.readOnly() }},
		{"/proc", "ProcSubset=pid", func(m mount) bool { return strings.Contains(m.super, "subset=pid") }},
		{"/sys", "ProtectKernelTunables=yes", func(m mount) bool { return m.readOnly() }},
		{"/sys/fs/cgroup", "ProtectControlGroups=yes", func(m mount) bool { return m.readOnly() }},
	} {
		m, ok := mountOf(mounts, w.point)
		if !ok || !w.ok(m) {
			t.Errorf("%s: the daemon's %s is on %+v", w.directive, w.point, m)
		}
	}
	// Namespaces of its own.
	for _, ns := range []struct{ name, directive string }{{"net", "PrivateNetwork=yes"}, {"uts", "ProtectHostname=yes"}, {"mnt", "mount namespace"}} {
		got := c.must(t, "readlink", "/proc/"+pid+"/ns/"+ns.name, "/proc/1/ns/"+ns.name)
		if f := strings.Fields(got); len(f) != 2 || f[0] == f[1] {
			t.Errorf("%s: the daemon shares systemd's %s namespace: %q", ns.directive, ns.name, got)
		}
	}
	t.Logf("the daemon (pid %s in the container) runs as uid 0 with CapEff=%s NoNewPrivs=%s Seccomp=%s",
		pid, field("CapEff"), field("NoNewPrivs"), field("Seccomp"))
}

// mount is one line of /proc/PID/mountinfo.
type mount struct {
	root, point, opts, fstype, super string
}

func (m mount) readOnly() bool {
	return m.opts == "ro" || strings.HasPrefix(m.opts, "ro,")
}

// parseMountinfo parses a mountinfo line: ID PARENT MAJ:MIN ROOT POINT
// OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS.
func parseMountinfo(line string) (mount, bool) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+3 >= len(f)+1 || len(f) < sep+4 {
		return mount{}, false
	}
	return mount{root: f[3], point: f[4], opts: f[5], fstype: f[sep+1], super: f[sep+3]}, true
}

// mountOf returns the mount that holds path: the one at the longest
// mount point above it.
func mountOf(mounts map[string]mount, path string) (mount, bool) {
	for p := path; ; p = filepath.Dir(p) {
		if m, ok := mounts[p]; ok {
			return m, true
		}
		if p == "/" {
			return mount{}, false
		}
	}
}

// randomTag returns a short random suffix for names.
func randomTag(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
