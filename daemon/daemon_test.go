// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

const (
	aliceUUID = "a11ce000-0000-4000-8000-000000000001"
	baseConf  = "access_drivers = [ \"polkit\" ]\naudit_level = 0\nlog_level = 2\nidle_timeout = 0\n"
)

func vm(name, uuid string) accessapi.Object {
	return accessapi.Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{"domain_name": name, "domain_uuid": uuid}}
}

// TestActivatedUnnamed runs the daemon as "systemd-socket-activate -l S
// virt-acl-helper serve" does: one descriptor with no name of its own is
// the varlink socket, and it answers.
func TestActivatedUnnamed(t *testing.T) {
	w := newWorld(t)
	d := w.startActivatedAs(t, "", w.Config(t, "c.conf", baseConf))
	code, out := w.cli(t, d, &w.alice, "check", "domain", "start", "--name", "alice-vm", "--uuid", aliceUUID)
	if code != 0 || !strings.Contains(out, "allowed") {
		t.Errorf("check over an unnamed activated socket: exit %d, %q; want allowed", code, out)
	}
}

func TestAccessOverSocket(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	aliceProc, bobProc := w.alice.Start(t), w.bob.Start(t)
	own := []string{"domain", "start", "--name", "alice-vm", "--uuid", aliceUUID}
	about := func(p testsys.Proc, args ...string) []string {
		return append([]string{"check", "--pid", strconv.Itoa(int(p.PID)), "--uid", strconv.Itoa(int(p.UID))}, args...)
	}
	tests := []struct {
		name     string
		user     int // 0 alice, 1 bob, 2 carol, 3 root
		args     []string
		wantExit int
		wantOut  string
	}{
		{"alice may start her vm", 0, append([]string{"check"}, own...), 0, "allowed"},
		{"bob may not", 1, append([]string{"check"}, own...), 1, "denied (by polkit"},
		{"bob may getattr (anonymous)", 1, []string{"check", "domain", "getattr", "--name", "alice-vm", "--uuid", aliceUUID}, 0, "allowed"},
		{"unknown permission", 0, []string{"check", "domain", "fly", "--name", "x", "--uuid", aliceUUID}, 2, "unknown permission fly"},
		{"bad uuid", 0, []string{"check", "domain", "start", "--name", "x", "--uuid", "nope"}, 2, "invalid request"},
		{"alice cannot ask about bob's process", 0, about(bobProc, own...), 2, "not privileged"},
		{"bob cannot ask about alice's process", 1, about(aliceProc, own...), 2, "not privileged"},
		{"alice cannot flush", 0, []string{"flush"}, 1, "not privileged"},
		{"alice cannot read stats", 0, []string{"stats"}, 1, "not privileged"},
		{"carol may ask about alice's process", 2, about(aliceProc, own...), 0, "allowed"},
		{"carol may ask about bob's process", 2, about(bobProc, own...), 1, "denied"},
		{"carol cannot flush", 2, []string{"flush"}, 1, "not privileged"},
		{"root may ask about alice's process", 3, about(aliceProc, own...), 0, "allowed"},
		{"root may ask about bob's process", 3, about(bobProc, own...), 1, "denied"},
		{"root: no such process", 3, about(testsys.Proc{PID: 1 << 30}, own...), 2, "no such process"},
		{"root must pin the uid", 3, append([]string{"check", "--pid", strconv.Itoa(int(aliceProc.PID))}, own...), 2, "--pid needs --uid"},
		{"root pins the start time", 3, append(about(aliceProc, own...), "--start-time", strconv.FormatUint(aliceProc.StartTime, 10)), 0, "allowed"},
		{"root pins a wrong start time", 3, append(about(aliceProc, own...), "--start-time", strconv.FormatUint(aliceProc.StartTime+1, 10)), 2, "no such process"},
		{"root may read stats", 3, []string{"stats"}, 0, "cache hits / misses"},
		{"root may flush one object", 3, []string{"flush", "domain", "--name", "alice-vm", "--uuid", aliceUUID}, 0, "cached decisions dropped"},
		{"root may flush", 3, []string{"flush"}, 0, "cached decisions dropped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := []*testsys.User{&w.alice, &w.bob, &w.carol, nil}[tt.user]
			code, out := w.cli(t, d, u, tt.args...)
			if code != tt.wantExit || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out, tt.wantExit, tt.wantOut)
			}
		})
	}
	t.Run("stats --json", func(t *testing.T) {
		code, out := w.cli(t, d, nil, "stats", "--json")
		var s accessapi.Stats
		if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.Drivers != "polkit" || s.Decisions == 0 {
			t.Errorf("exit %d, %v: %s", code, err, out)
		}
	})
	t.Run("a pinned subject must match", func(t *testing.T) {
		wrong := int64(w.bob.UID)
		_, err := d.client(t).Check(context.Background(), accessapi.CheckParams{Object: vm("alice-vm", aliceUUID),
			Permission: "start", Subject: &accessapi.Subject{PID: int64(aliceProc.PID), UID: &wrong}})
		if client.ErrorName(err) != accessapi.ErrNoSuchProcess {
			t.Errorf("err = %v, want NoSuchProcess", err)
		}
		_, err = d.client(t).Check(context.Background(), accessapi.CheckParams{Object: vm("alice-vm", aliceUUID),
			Permission: "start", Subject: &accessapi.Subject{PID: int64(aliceProc.PID), UID: ptr(int64(aliceProc.UID)), StartTime: ptr(aliceProc.StartTime + 1)}})
		if client.ErrorName(err) != accessapi.ErrNoSuchProcess {
			t.Errorf("err = %v, want NoSuchProcess", err)
		}
	})
	t.Run("another process must be pinned by uid", func(t *testing.T) {
		_, err := d.client(t).Check(context.Background(), accessapi.CheckParams{Object: vm("alice-vm", aliceUUID),
			Permission: "start", Subject: &accessapi.Subject{PID: int64(aliceProc.PID)}})
		if client.ErrorName(err) != accessapi.ErrInvalidRequest {
			t.Errorf("err = %v, want InvalidRequest", err)
		}
	})
	t.Run("CheckMany filters a list", func(t *testing.T) {
		rs, err := d.client(t).CheckMany(context.Background(), accessapi.CheckManyParams{Permission: "start",
			Objects: []accessapi.Object{vm("alice-vm", aliceUUID), vm("other-vm", "0ee00000-0000-4000-8000-000000000003")},
			Subject: aliceProc.Subject()})
		if err != nil || len(rs) != 2 || !rs[0].Allowed || rs[1].Allowed {
			t.Errorf("results %+v, %v", rs, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestHostileClientsLeaveOthersServed(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf+"max_message_size = 1024\n"))
	good := d.client(t)
	for _, msg := range []string{
		`{"method":"` + accessapi.Interface + `.Check","parameters":{"object":{"type":"domain","driver":"` + strings.Repeat("Q", 2000) + `"}}}` + "\x00",
		"not json\x00",
		`{"method":"` + accessapi.Interface + `.Nope"}` + "\x00",
		`{"method":"` + accessapi.Interface + `.Check","parameters":{"permission":[]}}` + "\x00",
	} {
		nc, err := net.Dial("unix", d.sock)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		go nc.Write([]byte(msg))
		r := varlink.NewReader(nc, 1<<20)
		reply, err := r.ReadMessage()
		if err != nil || !strings.Contains(string(reply), `"error":"`) {
			t.Errorf("reply to %.30q: %s, %v", msg, reply, err)
		}
		if _, err := r.ReadMessage(); err == nil {
			t.Errorf("connection left open after %.30q", msg)
		}
		nc.Close()
	}
	r, err := good.Check(context.Background(), accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "getattr"})
	if err != nil || !r.Allowed {
		t.Errorf("a well-behaved client after the hostile ones: %+v, %v", r, err)
	}
}

func TestNotifyWatchdogAndStop(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf), "WATCHDOG_USEC=200000")
	d.notify.waitFor(t, "STATUS=Serving*", d)
	d.notify.waitCount(t, "WATCHDOG=1", 2, d)
	d.stop(syscall.SIGTERM)
	d.notify.waitFor(t, "STOPPING=1", d)
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
}

func TestSIGTERMAnswersInFlight(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	alice := w.alice.Start(t)
	c := d.client(t)
	answered := make(chan error, 1)
	go func() {
		// The rules take 1.5 s over slow-vm.
		r, err := c.Check(context.Background(), accessapi.CheckParams{Object: vm("slow-vm", aliceUUID),
			Permission: "start", Subject: alice.Subject()})
		if err == nil && r.Allowed {
			err = fmt.Errorf("slow-vm allowed")
		}
		answered <- err
	}()
	time.Sleep(500 * time.Millisecond)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-answered; err != nil {
		t.Errorf("call in flight at SIGTERM: %v", err)
	}
	<-d.done
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if _, err := net.Dial("unix", d.sock); err == nil {
		t.Error("still accepting after SIGTERM")
	}
}

func TestSIGHUPReloads(t *testing.T) {
	w := newWorld(t)
	conf := w.Config(t, "c.conf", baseConf+"max_objects = 1\n")
	d := w.startActivated(t, conf)
	c := d.client(t)
	ctx := context.Background()
	two := []accessapi.Object{vm("alice-vm", aliceUUID), vm("b-vm", "0ee00000-0000-4000-8000-000000000003")}
	if _, err := c.CheckMany(ctx, accessapi.CheckManyParams{Permission: "getattr", Objects: two}); client.ErrorName(err) != accessapi.ErrInvalidRequest {
		t.Fatalf("two objects over max_objects = 1: %v", err)
	}
	if _, err := c.Check(ctx, accessapi.CheckParams{Object: two[0], Permission: "getattr"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Stats(ctx); s.Cache.Entries != 1 {
		t.Fatalf("cache entries %d, want 1", s.Cache.Entries)
	}

	w.Config(t, "c.conf", baseConf+"max_objects = 10\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.notify.waitFor(t, "RELOADING=1", d)
	d.notify.waitCount(t, "READY=1", 2, d)
	if s, err := c.Stats(ctx); err != nil || s.Cache.Entries != 0 || s.Decisions != 0 {
		t.Errorf("after reload: %+v, %v; want a flushed cache", s, err)
	}
	if _, err := c.CheckMany(ctx, accessapi.CheckManyParams{Permission: "getattr", Objects: two}); err != nil {
		t.Errorf("max_objects = 10 not in force after reload: %v", err)
	}

	w.Config(t, "c.conf", baseConf+"max_objects = banana\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.notify.waitFor(t, "STATUS=Reload failed*", d)
	if _, err := c.CheckMany(ctx, accessapi.CheckManyParams{Permission: "getattr", Objects: two}); err != nil {
		t.Errorf("a bad file replaced the running configuration: %v", err)
	}
	if !strings.Contains(d.out.String(), "c.conf:") {
		t.Errorf("the log does not name the bad file and line:\n%s", d.out.String())
	}
}

// TestIdleExitAndReactivation plays systemd's part: it holds the listening
// socket, starts the daemon with it (LISTEN_FDS, named varlink) when a
// connection is pending, and starts it again after it exited idle.
func TestIdleExitAndReactivation(t *testing.T) {
	w := newWorld(t)
	conf := w.Config(t, "c.conf", strings.Replace(baseConf, "idle_timeout = 0", "idle_timeout = 1", 1))
	sock := w.Dir + "/idle.sock"
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lf, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	exits := make(chan int, 4)
	stop, finished := make(chan struct{}), make(chan struct{})
	go func() { defer close(finished); activate(t, w, lf, conf, exits, stop) }()
	defer func() { close(stop); <-finished }() // before lf closes

	for round := 1; round <= 2; round++ {
		c, err := client.Dial(context.Background(), sock)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testsys.PolkitAnswerTimeout+5*time.Second)
		r, err := c.Check(ctx, accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "getattr"})
		cancel()
		c.Close()
		if err != nil || !r.Allowed {
			t.Fatalf("round %d: %+v, %v", round, r, err)
		}
		select {
		case code := <-exits:
			if code != 0 {
				t.Fatalf("round %d: idle exit with status %d", round, code)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the daemon did not exit after idle_timeout = 1", round)
		}
	}
}

// activate starts the daemon on lf whenever a connection waits on it.
func activate(t *testing.T, w *world, lf *os.File, conf string, exits chan<- int, stop <-chan struct{}) {
	fd := int32(lf.Fd())
	for {
		fds := []unix.PollFd{{Fd: fd, Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		select {
		case <-stop:
			return
		default:
		}
		if err != nil || n == 0 {
			continue
		}
		// LISTEN_PID must be the daemon's pid, known only in the child:
		// the shell sets it to its own and execs.
		cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" serve --config "$1"`, w.Bin, conf)
		cmd.Env = []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=varlink", "DBUS_SYSTEM_BUS_ADDRESS=" + w.Bus.Address}
		cmd.ExtraFiles = []*os.File{lf}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := testsys.StartProcess(cmd); err != nil {
			t.Errorf("activate: daemon did not start: %v", err)
			return
		}
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Logf("daemon output:\n%s", out.String())
		}
		exits <- cmd.ProcessState.ExitCode()
	}
}

func TestDecisionsAudited(t *testing.T) {
	w := newWorld(t)
	auditd := testsys.StartAuditd(t)
	d := w.startActivated(t, w.Config(t, "c.conf", strings.Replace(baseConf, "audit_level = 0", "audit_level = 2", 1)))
	name := fmt.Sprintf("audited-%d", time.Now().UnixNano())
	for _, perm := range []string{"getattr", "start"} {
		w.cli(t, d, &w.bob, "check", "domain", perm, "--name", name, "--uuid", aliceUUID)
	}
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out = auditd.Search(t, "-m", "USER_AVC", "--vm-name", name, "-p", strconv.Itoa(d.cmd.Process.Pid))
		if strings.Count(out, "type=USER_AVC") >= 2 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{"decision=granted permission=getattr", "decision=denied reason=policy permission=start",
		"uid=" + strconv.Itoa(int(w.bob.UID))} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %q:\n%s", want, out)
		}
	}
	// Stats counts what the kernel took: at level 2 every decision's
	// record was acknowledged before the answer.
	s, err := d.client(t).Stats(context.Background())
	switch {
	case err != nil:
		t.Fatalf("Stats: %v", err)
	case s.Audit == nil:
		t.Fatal("Stats: no audit counters at audit_level 2")
	case s.Audit.Level != 2 || s.Audit.Sent != s.Decisions || s.Decisions < 2 || s.Audit.Lost != 0 || len(s.Audit.LostBy) != 0:
		t.Errorf("Stats audit %+v after %d decisions: want level 2, every decision's record sent, none lost", *s.Audit, s.Decisions)
	}
}

// TestStartsBeforeTheBus: a daemon activated while the system bus is down
// (as at boot) starts, denies as "no decision" meanwhile, and answers by
// policy once the bus and polkitd are up.
func TestStartsBeforeTheBus(t *testing.T) {
	w := newWorld(t)
	w.Bus.Stop(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	own := []string{"check", "domain", "start", "--name", "alice-vm", "--uuid", aliceUUID}
	if code, out := w.cli(t, d, &w.alice, own...); code != 2 || !strings.Contains(out, "no decision") {
		t.Fatalf("with the bus down: exit %d, %q; want exit 2, no decision", code, out)
	}
	w.Bus.Start(t)
	w.PK.Restart(t) // polkitd exits with its bus
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, out := w.cli(t, d, &w.alice, own...)
		if code == 0 {
			break
		}
		if code != 2 || time.Now().After(deadline) {
			t.Fatalf("after the bus came: exit %d, %q; want exit 0 within 15s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
