// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// startTimeout bounds how long a daemon may take to become ready; generous,
// for CI machines busy with other tests.
const startTimeout = 30 * time.Second

// maxSunPath is the usable length of a unix socket path (sun_path is 108
// bytes including the terminating NUL).
const maxSunPath = 107

// busConfig is a system bus like Debian's, minus the user switch, syslog,
// pid file and service activation: polkitd's own policy file in system.d
// then decides, as on a real machine, who may own and call
// org.freedesktop.PolicyKit1.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>/etc/dbus-1/system.d</includedir>
</busconfig>
`

// A Bus is a private system bus: a real dbus-daemon listening on a socket
// of its own. Its methods are safe for concurrent use.
type Bus struct {
	// Address is the D-Bus address of the bus, without a guid, so it stays
	// valid across Restart.
	Address string

	daemonPath string
	dir        string
	socket     string
	config     string

	running // nil while stopped
}

// StartBus starts a private system bus for the test and stops it, and
// removes its directory, at cleanup.
func StartBus(t testing.TB) *Bus {
	t.Helper()
	b := &Bus{daemonPath: NeedCommand(t, "dbus-daemon")}
	if err := b.prepare(); err != nil {
		t.Fatalf("testsys: private bus: %v", err)
	}
	t.Cleanup(func() {
		if err := b.stop(); err != nil {
			t.Errorf("testsys: stop private bus: %v", err)
		}
		if t.Failed() {
			t.Logf("dbus-daemon output:\n%s", b.Output())
		}
		os.RemoveAll(b.dir)
	})
	b.Start(t)
	return b
}

// prepare creates the socket directory and the configuration file.
func (b *Bus) prepare() error {
	dir, err := socketDir()
	if err != nil {
		return err
	}
	b.dir = dir
	b.socket = filepath.Join(dir, "bus")
	b.config = filepath.Join(dir, "bus.conf")
	b.Address = "unix:path=" + b.socket
	conf := fmt.Sprintf(busConfig, b.socket)
	if err := os.WriteFile(b.config, []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("write bus configuration: %w", err)
	}
	return nil
}

// socketDir makes a directory short enough for a socket path and open to
// the unprivileged daemons (polkitd) that must connect through it.
func socketDir() (string, error) {
	parent := os.TempDir()
	if len(parent)+len("/vah-bus-0123456789/bus") > maxSunPath {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "vah-bus-")
	if err != nil {
		return "", fmt.Errorf("create socket directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("open socket directory to other users: %w", err)
	}
	return dir, nil
}

// Start starts the bus daemon again after Stop, on the same address.
func (b *Bus) Start(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p != nil && !b.p.exited() {
		t.Fatalf("testsys: private bus %s is already running (pid %d)", b.Address, b.p.pid())
	}
	p, err := b.launch()
	if err != nil {
		t.Fatalf("testsys: private bus: %v", err)
	}
	b.p = p
}

// launch runs dbus-daemon and waits until it prints its address, which it
// does once it is accepting connections.
func (b *Bus) launch() (*process, error) {
	os.Remove(b.socket) // a stale socket from a killed daemon
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe for dbus-daemon's address: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(b.daemonPath, "--nofork", "--nopidfile", "--nosyslog",
		"--config-file="+b.config, "--print-address=3")
	cmd.ExtraFiles = []*os.File{w}
	p, err := startProcess("dbus-daemon", cmd)
	w.Close()
	if err != nil {
		return nil, err
	}
	if err := waitAddress(r, p); err != nil {
		p.stop(syscall.SIGKILL, 0)
		return nil, fmt.Errorf("%w; dbus-daemon output:\n%s", err, p.output())
	}
	return p, nil
}

// waitAddress reads the first line dbus-daemon prints on its address pipe.
func waitAddress(r *os.File, p *process) error {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if !strings.HasPrefix(s, "unix:") {
			return fmt.Errorf("dbus-daemon (pid %d) did not start: %s", p.pid(), p.exitStatus())
		}
		return nil
	case <-time.After(startTimeout):
		r.Close() // unblocks the reader
		return fmt.Errorf("dbus-daemon (pid %d) printed no address within %v", p.pid(), startTimeout)
	}
}

// Stop stops the bus daemon (SIGTERM, then SIGKILL) and reaps it. Every
// connection to the bus breaks; polkitd exits when its connection does.
func (b *Bus) Stop(t testing.TB) {
	t.Helper()
	if err := b.stop(); err != nil {
		t.Fatalf("testsys: stop private bus %s: %v", b.Address, err)
	}
}

func (b *Bus) stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return nil
	}
	err := b.p.stop(syscall.SIGTERM, stopGrace)
	b.p = nil
	return err
}

// Restart stops the bus daemon and starts a new one on the same address.
func (b *Bus) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	b.Start(t)
}

// Conn opens a private connection to the bus, closed at cleanup.
func (b *Bus) Conn(t testing.TB) *dbus.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := b.dial(ctx)
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dial connects and authenticates, giving up when ctx ends.
func (b *Bus) dial(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.Dial(b.Address)
	if err != nil {
		return nil, fmt.Errorf("connect to private bus %s: %w", b.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("authenticate to private bus %s: %w", b.Address, err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hello to private bus %s: %w", b.Address, err)
	}
	return conn, nil
}
