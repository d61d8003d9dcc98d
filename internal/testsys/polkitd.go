// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"context"
	"errors"
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

// PolkitdPath is where Debian installs the polkit daemon.
const PolkitdPath = "/usr/lib/polkit-1/polkitd"

// PolkitName is the well-known bus name polkitd owns.
const PolkitName = "org.freedesktop.PolicyKit1"

// PolkitStall is how long polkitd 122 can stop answering everyone. Its
// duktape backend runs each rule evaluation in a new thread and waits on a
// condition variable for it, but the thread sets its result and signals
// without taking the mutex: when it finishes between the main thread's
// check and its wait (the main thread preempted after pthread_create, as
// on a busy two-core machine), the wake-up is lost and the main loop
// sleeps out the runaway-script timeout, 15 s, then logs "Terminating
// runaway script after 15 seconds" about a script that had long finished
// (src/polkitbackend/polkitbackendduktapeauthority.c,
// runaway_killer_common). Upstream's backend now signals under the mutex;
// Debian 12 ships 122. Seen here at about 1 in 30,000 checks under load.
const PolkitStall = 15 * time.Second

// PolkitAnswerTimeout bounds a test's wait for an answer polkitd must
// give: longer than a stall, so that one slows a test instead of failing
// it.
const PolkitAnswerTimeout = PolkitStall + 10*time.Second

// polkitStallMessage is what polkitd prints after a stall.
const polkitStallMessage = "Terminating runaway script after"

// pollInterval paces the loops that wait for a daemon's state to change.
const pollInterval = 10 * time.Millisecond

// Polkitd is a real polkitd on a private bus. It reads the machine's rule
// files like any polkitd, so several can run at once on different buses.
// Its methods are safe for concurrent use.
type Polkitd struct {
	bus  *Bus
	path string

	running // nil or exited while not running
}

// StartPolkitd starts polkitd on bus and returns once it owns
// org.freedesktop.PolicyKit1 there. It is stopped at cleanup.
//
// polkitd runs without --no-debug: it then prints which rule files it
// loaded and any JavaScript errors, which failure messages include.
func StartPolkitd(t testing.TB, bus *Bus) *Polkitd {
	t.Helper()
	NeedRoot(t)
	pk := &Polkitd{bus: bus, path: NeedCommand(t, PolkitdPath)}
	t.Cleanup(func() {
		if err := pk.stop(syscall.SIGTERM); err != nil {
			t.Errorf("testsys: stop polkitd: %v", err)
		}
		out := pk.Output()
		if n := strings.Count(out, polkitStallMessage); n > 0 {
			t.Logf("polkitd stalled for %v %d time(s): polkit 122's lost wake-up (see testsys.PolkitStall)", PolkitStall, n)
		}
		if t.Failed() {
			t.Logf("polkitd output:\n%s", out)
		}
	})
	pk.Start(t)
	return pk
}

// Start starts polkitd again after Kill, and waits until it owns its name.
func (pk *Polkitd) Start(t testing.TB) {
	t.Helper()
	if err := pk.start(); err != nil {
		t.Fatalf("testsys: polkitd on %s: %v", pk.bus.Address, err)
	}
}

func (pk *Polkitd) start() error {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.p != nil && !pk.p.exited() {
		return fmt.Errorf("already running (pid %d)", pk.p.pid())
	}
	cmd := exec.Command(pk.path)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+pk.bus.Address)
	cmd.Dir = "/"
	p, err := startProcess("polkitd", cmd)
	if err != nil {
		return err
	}
	pk.p = p
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := pk.bus.waitOwner(ctx, PolkitName, p); err != nil {
		state := procState(p.pid())
		p.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("%w; polkitd was in %s; rule files: %s; polkitd output:\n%s",
			err, state, ruleFiles(), p.output())
	}
	return nil
}

// ruleFiles lists the rule files polkitd reads, since a slow or broken one
// can keep it from starting.
func ruleFiles() string {
	var names []string
	for _, dir := range []string{RulesDir, "/usr/share/polkit-1/rules.d"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.rules"))
		names = append(names, paths...)
	}
	return strings.Join(names, " ")
}

// Kill kills polkitd with SIGKILL, as a crash would, reaps it, and waits
// until the bus has dropped its name (when the bus is running).
func (pk *Polkitd) Kill(t testing.TB) {
	t.Helper()
	if err := pk.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("testsys: kill polkitd: %v", err)
	}
	if pk.bus.PID() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := pk.bus.waitOwner(ctx, PolkitName, nil); err != nil {
		t.Fatalf("testsys: after killing polkitd: %v", err)
	}
}

func (pk *Polkitd) stop(sig syscall.Signal) error {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.p == nil {
		return nil
	}
	return pk.p.stop(sig, stopGrace)
}

// Restart kills polkitd if it is still running and starts it again. After
// Bus.Restart polkitd has already exited with its connection; Restart then
// only starts it.
func (pk *Polkitd) Restart(t testing.TB) {
	t.Helper()
	pk.Kill(t)
	pk.Start(t)
}

// outputLen is the length of polkitd's output so far (0 when not running);
// an offset to look for messages printed after some action.
func (pk *Polkitd) outputLen() int {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.p == nil {
		return 0
	}
	return pk.p.out.Len()
}

// waitOwner waits until name is owned by the process p, or, with p nil,
// until name has no owner. It fails early if p exits.
func (b *Bus) waitOwner(ctx context.Context, name string, p *process) error {
	var conn *dbus.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("%s (pid %d) exited before owning %s: %s", p.name, p.pid(), name, p.exitStatus())
		}
		if conn == nil {
			conn, _ = b.dial(ctx) // retried below until ctx ends
		}
		if conn != nil {
			done, err := ownerIs(ctx, conn, name, p)
			if done {
				return nil
			}
			if err != nil {
				conn.Close()
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s on %s: %s: %w", name, b.Address, wantOwner(p), ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// ownerIs reports whether name's owner is as waitOwner wants. An error
// means the connection is unusable.
func ownerIs(ctx context.Context, conn *dbus.Conn, name string, p *process) (bool, error) {
	var owner string
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, name).Store(&owner)
	var derr dbus.Error
	if errors.As(err, &derr) && derr.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
		return p == nil, nil
	}
	if err != nil {
		return false, err
	}
	if p == nil {
		return false, nil
	}
	var pid uint32
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixProcessID", 0, owner).Store(&pid)
	if err != nil {
		return false, nil // the owner left between the two calls
	}
	return int(pid) == p.pid(), nil
}

func wantOwner(p *process) string {
	if p == nil {
		return "still has an owner"
	}
	return fmt.Sprintf("not owned by %s (pid %d)", p.name, p.pid())
}
