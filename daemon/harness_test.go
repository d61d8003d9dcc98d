// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/daemon"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// Integration tests: the built binary, started as systemd starts it, on a
// private bus with a real polkitd, asked by real processes of real users.

// world is what the daemon's tests share: the binary, a bus with polkitd
// knowing the helper's actions, and test users.
type world struct {
	*daemontest.World
	alice testsys.User // may use her own VM
	bob   testsys.User // may use nothing
	carol testsys.User // may ask about other processes (check-other)
}

func newWorld(t testing.TB) *world {
	t.Helper()
	testsys.NeedCommand(t, "systemd-socket-activate")
	w := &world{World: daemontest.NewWorld(t)}
	w.alice, w.bob, w.carol = testsys.AddUser(t, "alice"), testsys.AddUser(t, "bob"), testsys.AddUser(t, "carol")
	w.PK.AddRule(t, "daemon", fmt.Sprintf(`
polkit.addRule(function(action, subject) {
    if (subject.user == %q && action.id.indexOf("org.libvirt.api.domain.") == 0 &&
        action.lookup("domain_name") == "alice-vm")
        return polkit.Result.YES;
    if (subject.user == %q && action.id == %q)
        return polkit.Result.YES;
    if (action.id == "org.libvirt.api.domain.start" && action.lookup("domain_name") == "slow-vm") {
        var end = Date.now() + 1500;
        while (Date.now() < end) {}
        return polkit.Result.NO;
    }
    return polkit.Result.NOT_HANDLED;
});`, w.alice.Name, w.carol.Name, policy.ActionCheckOther))
	return w
}

// daemonProc is a daemon the test started.
type daemonProc struct {
	cmd    *exec.Cmd
	sock   string
	out    *testsys.Buffer
	done   chan struct{}
	notify *notifySocket
}

// startActivated runs the daemon under systemd-socket-activate, with a
// real LISTEN_FDS socket named "varlink", and waits for READY=1.
func (w *world) startActivated(t testing.TB, conf string, env ...string) *daemonProc {
	t.Helper()
	return w.startActivatedAs(t, daemon.FDName, conf, env...)
}

// startActivatedAs is startActivated with the socket named fdname, or
// left unnamed when fdname is "" (systemd-socket-activate -l alone).
func (w *world) startActivatedAs(t testing.TB, fdname, conf string, env ...string) *daemonProc {
	t.Helper()
	sock := filepath.Join(w.Dir, fmt.Sprintf("s%d.sock", time.Now().UnixNano()%1e6))
	ns := newNotifySocket(t, w.Dir)
	args := []string{"-l", sock,
		"-E", "DBUS_SYSTEM_BUS_ADDRESS=" + w.Bus.Address, "-E", "NOTIFY_SOCKET=" + ns.path}
	if fdname != "" {
		args = append(args, "--fdname="+fdname)
	}
	for _, e := range env {
		args = append(args, "-E", e)
	}
	args = append(args, w.Bin, "serve", "--config", conf)
	d := &daemonProc{cmd: exec.Command("systemd-socket-activate", args...), sock: sock,
		out: &testsys.Buffer{}, done: make(chan struct{}), notify: ns}
	d.start(t)
	// A .socket unit would set SocketMode=0666; systemd-socket-activate
	// has no such option.
	for deadline := time.Now().Add(10 * time.Second); os.Chmod(sock, 0o666) != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) || d.exited() {
			t.Fatalf("systemd-socket-activate made no socket:\n%s", d.out.String())
		}
	}
	// Like systemd, systemd-socket-activate starts the service at the
	// first connection. It binds the socket (the file appears) before it
	// listens: a connection in between is refused.
	var info varlink.Info
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := varlink.Dial(ctx, sock)
	for errors.Is(err, syscall.ECONNREFUSED) && ctx.Err() == nil && !d.exited() {
		time.Sleep(10 * time.Millisecond)
		c, err = varlink.Dial(ctx, sock)
	}
	if err != nil {
		t.Fatalf("first connection: %v\n%s", err, d.out.String())
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Call(ctx, varlink.ServiceInterface+".GetInfo", nil, &info); err != nil {
		t.Fatalf("first connection: %v\n%s", err, d.out.String())
	}
	ns.waitFor(t, "READY=1", d)
	return d
}

func (d *daemonProc) varlinkClient(t testing.TB) *varlink.Client {
	t.Helper()
	c, err := varlink.Dial(context.Background(), d.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (d *daemonProc) start(t testing.TB) {
	t.Helper()
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := testsys.StartProcess(d.cmd); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
		}
	})
}

// stop signals the daemon (by its own pid) and waits for it to exit.
func (d *daemonProc) stop(sig syscall.Signal) {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemonProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (d *daemonProc) client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), d.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// cli runs the built command as user u (nil: root) against d and returns
// its exit status and output.
func (w *world) cli(t testing.TB, d *daemonProc, u *testsys.User, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(w.Bin, args...)
	cmd.Env = []string{"VIRT_ACL_HELPER_SOCKET=" + d.sock, "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	if u != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}}
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return 0, string(out)
}

// notifySocket receives sd_notify messages as systemd would.
type notifySocket struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	seen []string
	more chan struct{}
}

func newNotifySocket(t testing.TB, dir string) *notifySocket {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("n%d", time.Now().UnixNano()%1e6))
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ns := &notifySocket{path: path, conn: conn, more: make(chan struct{}, 1)}
	t.Cleanup(func() { conn.Close() })
	go ns.read()
	return ns
}

func (ns *notifySocket) read() {
	buf := make([]byte, 4096)
	for {
		n, err := ns.conn.Read(buf)
		if err != nil {
			return
		}
		ns.mu.Lock()
		ns.seen = append(ns.seen, strings.Split(string(buf[:n]), "\n")...)
		ns.mu.Unlock()
		select {
		case ns.more <- struct{}{}:
		default:
		}
	}
}

// count returns how many times line was received.
func (ns *notifySocket) count(line string) int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	n := 0
	for _, l := range ns.seen {
		if l == line || strings.HasSuffix(line, "*") && strings.HasPrefix(l, strings.TrimSuffix(line, "*")) {
			n++
		}
	}
	return n
}

// waitFor waits until line has been received once more than before... at
// least once in total.
func (ns *notifySocket) waitFor(t testing.TB, line string, d *daemonProc) {
	t.Helper()
	ns.waitCount(t, line, 1, d)
}

func (ns *notifySocket) waitCount(t testing.TB, line string, n int, d *daemonProc) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for ns.count(line) < n {
		select {
		case <-ns.more:
		case <-d.done:
			if ns.count(line) >= n {
				return
			}
			t.Fatalf("daemon exited before sending %q:\n%s", line, d.out.String())
		case <-deadline:
			t.Fatalf("no %q from the daemon (got %q):\n%s", line, ns.seen, d.out.String())
		}
	}
}
