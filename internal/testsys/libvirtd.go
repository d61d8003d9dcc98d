// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// virtlogdSocket is where libvirtd's QEMU driver finds virtlogd, which it
// needs to start a guest.
const virtlogdSocket = "/run/libvirt/virtlogd-sock"

// LibvirtdOptions configure StartLibvirtd.
type LibvirtdOptions struct {
	// AccessDrivers is libvirtd.conf's access_drivers; nil means
	// libvirt's default, [ "none" ] (no access control).
	AccessDrivers []string
	// Bus is the system bus polkit runs on, for the polkit driver; nil
	// leaves libvirtd without one.
	Bus *Bus
}

// Libvirtd is a real libvirtd serving qemu:///system on a private socket
// directory, for a test. Its sockets are open to every user
// (unix_sock_rw_perms 0777, auth none).
type Libvirtd struct {
	// Dir holds the sockets and the configuration.
	Dir string
	// Socket is the read-write socket.
	Socket string
	// URI reaches Socket: qemu+unix:///system?socket=...
	URI string
	p   *process
}

// StartLibvirtd starts libvirtd, and virtlogd when none is running (guests
// need it), and returns once libvirtd answers. Both are stopped at
// cleanup, by pid. Tests that run a libvirtd run one at a time, across
// test binaries: StartLibvirtd waits for the machine-wide lock. A test
// that needs auditd too starts it first (locks.go), and a test starts
// one libvirtd: a second StartLibvirtd, or a StartAuditd after it, fails
// the test.
func StartLibvirtd(t testing.TB, opts LibvirtdOptions) *Libvirtd {
	t.Helper()
	NeedRoot(t)
	bin := NeedCommand(t, "/usr/sbin/libvirtd")
	NeedCommand(t, "virsh")
	NeedCommand(t, "qemu-system-x86_64")
	machineLocks.take(t, libvirtdLock)
	startVirtlogd(t)
	dir, err := os.MkdirTemp("", "vah-libvirtd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Test users must reach the sockets.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "# virt-acl-helper test\nunix_sock_dir = %q\n", dir)
	conf.WriteString("unix_sock_rw_perms = \"0777\"\nunix_sock_ro_perms = \"0777\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n")
	if len(opts.AccessDrivers) > 0 {
		quoted := make([]string, len(opts.AccessDrivers))
		for i, d := range opts.AccessDrivers {
			quoted[i] = fmt.Sprintf("%q", d)
		}
		fmt.Fprintf(&conf, "access_drivers = [ %s ]\n", strings.Join(quoted, ", "))
	}
	confPath := filepath.Join(dir, "libvirtd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &Libvirtd{Dir: dir, Socket: filepath.Join(dir, "libvirt-sock")}
	l.URI = "qemu+unix:///system?socket=" + l.Socket
	cmd := exec.Command(bin, "-f", confPath, "-p", filepath.Join(dir, "libvirtd.pid"))
	cmd.Env = os.Environ()
	if opts.Bus != nil {
		cmd.Env = append(cmd.Env, "DBUS_SYSTEM_BUS_ADDRESS="+opts.Bus.Address)
	}
	cmd.Dir = "/"
	if l.p, err = startProcess("libvirtd", cmd); err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() {
		if err := l.p.stop(syscall.SIGTERM, 15*time.Second); err != nil {
			t.Errorf("testsys: stop libvirtd: %v", err)
		}
		if t.Failed() {
			t.Logf("libvirtd output:\n%s", l.p.output())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := l.Virsh(nil, "uri"); err == nil {
			return l
		}
		if l.p.exited() || time.Now().After(deadline) {
			t.Fatalf("testsys: libvirtd did not answer within 60s (%s):\n%s", l.p.exitStatus(), l.p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Virsh runs virsh -q against the daemon, as u when u is not nil (else
// root), and returns its combined output.
func (l *Libvirtd) Virsh(u *User, args ...string) (string, error) {
	return VirshURI(l.URI, u, args...)
}

// VirshURI runs virsh -q -c uri as u (root when nil) in the C locale, with
// no home directory, and returns its combined output.
func VirshURI(uri string, u *User, args ...string) (string, error) {
	cmd := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "LC_ALL=C"}
	cmd.Dir = "/"
	if u != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Define defines a domain from xml as root and undefines it (destroying
// it first, if running) at cleanup.
func (l *Libvirtd) Define(t testing.TB, name, xml string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(f, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Virsh(nil, "define", f); err != nil {
		t.Fatalf("testsys: define %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		l.Virsh(nil, "destroy", name) // fails harmlessly when shut off
		if out, err := l.Virsh(nil, "undefine", name); err != nil {
			t.Errorf("testsys: undefine %s: %v\n%s", name, err, out)
		}
	})
}

// TransientPool creates, as root, the transient dir pool pool (in a
// directory of the test's) with a volume of 1 MiB for each of vols, and
// destroys it at cleanup: destroying a transient pool makes it vanish.
// A pool of that name a crashed run left is destroyed first.
func (l *Libvirtd) TransientPool(t testing.TB, pool string, vols ...string) {
	t.Helper()
	l.Virsh(nil, "pool-destroy", pool) // none is harmless
	steps := [][]string{{"pool-create-as", pool, "dir", "--target", t.TempDir()}}
	for _, v := range vols {
		steps = append(steps, []string{"vol-create-as", pool, v, "1M"})
	}
	for _, args := range steps {
		if out, err := l.Virsh(nil, args...); err != nil {
			t.Fatalf("testsys: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { l.Virsh(nil, "pool-destroy", pool) })
}

// startVirtlogd starts virtlogd in the foreground, as the test's child,
// unless one answers on its socket already; the one started is stopped at
// cleanup.
func startVirtlogd(t testing.TB) {
	t.Helper()
	if c, err := net.Dial("unix", virtlogdSocket); err == nil {
		c.Close()
		return
	}
	bin := NeedCommand(t, "/usr/sbin/virtlogd")
	p, err := startProcess("virtlogd", exec.Command(bin))
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGTERM, stopGrace); err != nil {
			t.Errorf("testsys: stop virtlogd: %v", err)
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if c, err := net.Dial("unix", virtlogdSocket); err == nil {
			c.Close()
			return
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("testsys: virtlogd did not listen on %s (%s): %s", virtlogdSocket, p.exitStatus(), p.output())
		}
		time.Sleep(pollInterval)
	}
}

// LockLibvirtd holds the machine-wide lock StartLibvirtd takes, until
// cleanup, for a test that runs a libvirtd of its own elsewhere (in a
// container: it shares the kernel, /dev/kvm and the two cores with the
// host's, and one at a time keeps timings and guests out of each other's
// way).
func LockLibvirtd(t testing.TB) {
	t.Helper()
	machineLocks.take(t, libvirtdLock)
}
