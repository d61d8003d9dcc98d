// SPDX-License-Identifier: Apache-2.0

package daemontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// stopGrace is how long a stopped daemon gets to exit before SIGKILL.
const stopGrace = 10 * time.Second

// Daemon is the helper serving one socket. The socket belongs to the test,
// as it belongs to systemd on a host: the daemon started on it can die, and
// the next connection starts another one, as a .socket unit would.
type Daemon struct {
	Sock string

	w    *World
	conf string
	env  []string
	lf   *os.File

	mu     sync.Mutex
	cur    *exec.Cmd // the running daemon, nil between runs
	starts int
	out    bytes.Buffer

	stop, finished chan struct{}
}

// Activate listens on a new socket (mode 0666, like the socket unit) and
// starts the daemon, with env added to its environment, whenever a
// connection waits and none runs. It returns before the first start.
func (w *World) Activate(t testing.TB, conf string, env ...string) *Daemon {
	t.Helper()
	d := &Daemon{Sock: filepath.Join(w.Dir, fmt.Sprintf("a%d.sock", time.Now().UnixNano()%1e9)), w: w, conf: conf,
		env: env, stop: make(chan struct{}), finished: make(chan struct{})}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: d.Sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false) // lf keeps serving the path
	if d.lf, err = l.File(); err != nil {
		t.Fatal(err)
	}
	l.Close() // lf holds the listening socket
	if err := os.Chmod(d.Sock, 0o666); err != nil {
		t.Fatal(err)
	}
	go d.serve()
	t.Cleanup(func() { d.close(t) })
	return d
}

// serve starts the daemon when a connection is pending, waits for it to
// exit, and starts it again on the next one.
func (d *Daemon) serve() {
	defer close(d.finished)
	fd := int32(d.lf.Fd())
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: fd, Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 50); err != nil || n == 0 {
			continue
		}
		cmd := d.command()
		if err := testsys.StartProcess(cmd); err != nil {
			d.logf("start: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		d.mu.Lock()
		d.cur, d.starts = cmd, d.starts+1
		d.mu.Unlock()
		err := cmd.Wait()
		d.mu.Lock()
		d.cur = nil
		d.mu.Unlock()
		d.logf("daemon (pid %d) exited: %v", cmd.Process.Pid, err)
	}
}

// command is the daemon as systemd starts it: LISTEN_FDS=1 and the fd
// name varlink. LISTEN_PID must be the daemon's own pid, known only in the
// child, so a shell sets it to its own and execs.
func (d *Daemon) command() *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" serve --config "$1"`, d.w.Bin, d.conf)
	cmd.Env = append([]string{"LISTEN_FDS=1", "LISTEN_FDNAMES=varlink",
		"DBUS_SYSTEM_BUS_ADDRESS=" + d.w.Bus.Address, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, d.env...)
	cmd.ExtraFiles = []*os.File{d.lf}
	cmd.Stdout, cmd.Stderr = (*lockedWriter)(d), (*lockedWriter)(d)
	return cmd
}

// close stops the activator, then the daemon (SIGTERM, by pid), then
// closes the socket; the daemon's output is logged if the test failed.
func (d *Daemon) close(t testing.TB) {
	close(d.stop)
	d.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(stopGrace)
	for d.PID() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	d.Signal(syscall.SIGKILL)
	<-d.finished
	d.lf.Close()
	os.Remove(d.Sock)
	if t.Failed() {
		t.Logf("daemon output:\n%s", d.Output())
	}
}

// PID is the running daemon's pid, or 0.
func (d *Daemon) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		return 0
	}
	return d.cur.Process.Pid
}

// Starts counts the daemons started so far.
func (d *Daemon) Starts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.starts
}

// Signal sends sig to the running daemon, by its pid; it reports whether
// one was running.
func (d *Daemon) Signal(sig syscall.Signal) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		return false
	}
	return d.cur.Process.Signal(sig) == nil
}

// WaitExit waits until the daemon with pid is no longer the one running
// (another may already have been started for a waiting connection), or
// fails the test after timeout.
func (d *Daemon) WaitExit(t testing.TB, pid int, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); d.PID() == pid; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("daemon (pid %d) still running after %v", pid, timeout)
		}
	}
}

// Output is everything the daemons printed.
func (d *Daemon) Output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func (d *Daemon) logf(format string, args ...any) {
	fmt.Fprintf((*lockedWriter)(d), "daemontest: "+format+"\n", args...)
}

// lockedWriter appends to the daemon's output under its lock.
type lockedWriter Daemon

func (lw *lockedWriter) Write(p []byte) (int, error) {
	d := (*Daemon)(lw)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

// Dial connects a client, closed at cleanup.
func (d *Daemon) Dial(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, d.Sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// RSS is the resident memory of process pid, in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS line")
}
