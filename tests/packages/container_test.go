// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// Timeouts of the booted container.
const (
	bootTimeout    = 120 * time.Second
	commandTimeout = 120 * time.Second
	stopTimeout    = 60 * time.Second
)

// bootScript runs in a private mount namespace (unshare), so that its
// mounts vanish with the container. It lays a tmpfs-backed overlay over
// this host's root, so the container can install packages while the host
// stays untouched (systemd-nspawn refuses --volatile=overlay on /, and
// --volatile=yes mounts /usr read-only), and boots systemd in it.
//
//   - policy-rc.d: hosts built from container images forbid dpkg to start
//     services; a real installation has none.
//   - rules.d: polkit rules other tests leave on the host must not decide
//     here.
//   - SYSTEMD_SECCOMP=0: nspawn's own seccomp filter makes
//     socket(AF_NETLINK, ..., NETLINK_AUDIT) fail with EAFNOSUPPORT in every
//     container; without it, the unit's own filter is what applies.
//   - --private-network: services the host enables (libvirtd's bridge) must
//     not touch the host's network; basic.target keeps them from starting.
const bootScript = `set -eu
d=$1 pkgs=$2
mount -t tmpfs -o mode=0755 vah-nspawn "$d/rw"
mkdir "$d/rw/upper" "$d/rw/work"
mount -t overlay -o "lowerdir=/,upperdir=$d/rw/upper,workdir=$d/rw/work" vah-nspawn "$d/root"
rm -f "$d/root/usr/sbin/policy-rc.d"
find "$d/root/etc/polkit-1/rules.d" -mindepth 1 -delete
SYSTEMD_SECCOMP=0 exec systemd-nspawn --quiet --register=no --keep-unit --private-network \
	--machine=vah-nspawn-test -D "$d/root" --bind-ro="$pkgs:/mnt/vah" \
	-b -- systemd.unit=basic.target
`

// container is a real systemd booted by systemd-nspawn on a throwaway
// overlay of this host's root.
type container struct {
	cmd  *exec.Cmd // unshare, which execs sh, which execs systemd-nspawn: one pid
	out  *syncBuffer
	done chan struct{}
	init int // the container's systemd, as this pid namespace sees it
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bootContainer boots the container with pkgDir at /mnt/vah and waits until
// its systemd has finished starting up. Cleanup powers it off (SIGTERM to
// nspawn, then SIGKILL), by pid.
func bootContainer(t *testing.T, pkgDir string) *container {
	t.Helper()
	for _, c := range []string{"systemd-nspawn", "unshare", "nsenter", "setpriv", "mount"} {
		testsys.NeedCommand(t, c)
	}
	dir := t.TempDir()
	for _, d := range []string{"rw", "root"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &container{out: &syncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", bootScript, "sh", dir, pkgDir)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.Stdin = nil
	start := time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start systemd-nspawn: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.stop(t) })

	deadline := time.Now().Add(bootTimeout)
	for c.init == 0 {
		c.init = c.findInit()
		if c.exited() || time.Now().After(deadline) {
			t.Fatalf("the container's systemd did not start (%v):\n%s", c.cmd.ProcessState, tail(c.out.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		// --wait returns once start-up is over: running, or degraded.
		state, _ := c.exec(t, nil, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(state)
		if state == "running" || state == "degraded" {
			t.Logf("container booted in %v (pid %d, system %s)", time.Since(start).Round(time.Millisecond), c.init, state)
			if state == "degraded" {
				failed, _ := c.exec(t, nil, "systemctl", "--failed", "--no-legend")
				t.Logf("failed units in the container (not ours):\n%s", failed)
			}
			return c
		}
		if c.exited() || time.Now().After(deadline) {
			t.Fatalf("the container's systemd is %q after %v:\n%s", state, bootTimeout, tail(c.out.String(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// bootWith boots the container with the package file pkg in /mnt/vah
// and, should the test fail, logs the container's journal for units.
func bootWith(t *testing.T, pkg string, units ...string) *container {
	t.Helper()
	pkgDir := t.TempDir()
	if err := os.Link(pkg, filepath.Join(pkgDir, filepath.Base(pkg))); err != nil {
		cmdOutput(t, "cp", pkg, pkgDir)
	}
	c := bootContainer(t, pkgDir)
	t.Cleanup(func() {
		if t.Failed() && !c.exited() {
			args := []string{"journalctl", "--no-pager", "-o", "short-precise"}
			for _, u := range units {
				args = append(args, "-u", u)
			}
			out, _ := c.exec(t, nil, args...)
			t.Logf("the container's journal for %s:\n%s", strings.Join(units, ", "), tail(out, 80))
		}
	})
	return c
}

// findInit returns the pid of the container's systemd: nspawn's child once
// it is systemd, or 0.
func (c *container) findInit() int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", c.cmd.Process.Pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasSuffix(exe, "/systemd") {
				return pid
			}
		}
	}
	return 0
}

func (c *container) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop powers the container off: nspawn turns SIGTERM into a clean
// shutdown; SIGKILL if that takes too long.
func (c *container) stop(t *testing.T) {
	if c.exited() {
		return
	}
	start := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		t.Logf("container powered off in %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(stopTimeout):
		t.Errorf("the container did not power off in %v; killing systemd-nspawn (pid %d):\n%s",
			stopTimeout, c.cmd.Process.Pid, tail(c.out.String(), 20))
		c.cmd.Process.Kill()
		<-c.done
	}
}

// containerEnv is the environment of commands run in the container.
var containerEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "DEBIAN_FRONTEND=noninteractive",
}

// exec runs a command in all the container's namespaces, with stdin, and
// returns its combined output and exit status (-1 if it could not run).
func (c *container) exec(t *testing.T, stdin []byte, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.init), "-a", "--"}, args...)...)
	cmd.Env = containerEnv
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case ctx.Err() != nil:
		t.Fatalf("in the container: %s: timed out after %v:\n%s", strings.Join(args, " "), commandTimeout, out)
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("in the container: %s: %v", strings.Join(args, " "), err)
	return "", -1
}

// must runs a command in the container and fails the test unless it succeeds.
func (c *container) must(t *testing.T, args ...string) string {
	t.Helper()
	out, code := c.exec(t, nil, args...)
	if code != 0 {
		t.Fatalf("in the container: %s: exit status %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// writeFile writes a file in the container.
func (c *container) writeFile(t *testing.T, path, content string) {
	t.Helper()
	if out, code := c.exec(t, []byte(content), "sh", "-c", `cat >"$1"`, "sh", path); code != 0 {
		t.Fatalf("in the container: write %s: exit status %d: %s", path, code, out)
	}
}

// unitState returns systemctl is-active's answer for a unit.
func (c *container) unitState(t *testing.T, unit string) string {
	t.Helper()
	out, _ := c.exec(t, nil, "systemctl", "is-active", unit)
	return strings.TrimSpace(out)
}

// waitUnitState waits up to timeout for a unit to reach state.
func (c *container) waitUnitState(t *testing.T, unit, state string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := c.unitState(t, unit)
		if got == state {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s is %q after %v, want %q", unit, got, timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
