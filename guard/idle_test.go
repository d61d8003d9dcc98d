// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
)

func TestIdleExit(t *testing.T) {
	const d = 30 * time.Millisecond
	fired := func(i *idleExit, within time.Duration) bool {
		select {
		case <-i.idle:
			return i.quiet()
		case <-time.After(within):
			return false
		}
	}
	tests := []struct {
		name string
		run  func(i *idleExit)
		want bool
	}{
		{"no client", func(*idleExit) {}, true},
		{"a client stays", func(i *idleExit) { i.conns(1) }, false},
		{"a client came and went", func(i *idleExit) { i.conns(1); time.Sleep(2 * d); i.conns(-1) }, true},
		{"timeout 0", func(i *idleExit) { i.setTimeout(0) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := newIdleExit(d)
			tt.run(i)
			if got := fired(i, 10*d); got != tt.want {
				t.Errorf("idle: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRunIdleExitActivated starts the guard under systemd-socket-activate,
// as its socket unit does, with guard_idle_timeout = 1: it keeps running
// while a client is connected and exits, successfully, a second after the
// last one left. Started by hand on a --listen path, it keeps running.
func TestRunIdleExitActivated(t *testing.T) {
	testsys.NeedCommand(t, "systemd-socket-activate")
	up := startFakeLibvirtd(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "guard.conf")
	if err := os.WriteFile(conf, []byte("access_drivers = [ \"none\" ]\naudit_level = 0\nxml_policy = \"\"\nguard_idle_timeout = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "libvirt-sock")
	env := []string{runEnv + "=" + up.path, "VAH_TEST_CONF=" + conf}
	args := []string{"-l", sock, "--fdname=" + FDName}
	for _, e := range env {
		args = append(args, "-E", e)
	}
	activated := exec.Command("systemd-socket-activate", append(args, os.Args[0], "-test.run=^TestRunActivated$")...)
	exited := startLogged(t, activated)
	c := &client{t: t, c: dialWait(t, sock)}
	if code := c.call(proto.RemoteProcAuthList, &proto.Void{}); code != 0 {
		t.Fatalf("AUTH_LIST: error %d", code)
	}
	select {
	case err := <-exited:
		t.Fatalf("the guard exited with a client connected: %v", err)
	case <-time.After(2 * time.Second):
	}
	c.c.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the idle guard exited with %v, want success", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the guard did not exit 1 s after its last client left")
	}

	byHand := exec.Command(os.Args[0], "-test.run=^TestRunActivated$")
	byHand.Env = append(append(os.Environ(), env...), "VAH_TEST_LISTEN="+filepath.Join(dir, "by-hand"))
	exited = startLogged(t, byHand)
	dialWait(t, filepath.Join(dir, "by-hand")).Close()
	select {
	case err := <-exited:
		t.Fatalf("the guard started by hand exited when idle: %v", err)
	case <-time.After(3 * time.Second):
	}
}

// startLogged starts cmd, stops it at cleanup (logging its output if the
// test failed) and returns the channel its exit is sent on.
func startLogged(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("%s:\n%s", cmd.Path, log.String())
		}
	})
	return exited
}

// TestWatchdog: with WatchdogSec= set (WATCHDOG_USEC, WATCHDOG_PID), the
// guard sends WATCHDOG=1 on the notify socket, more often than the
// interval; without it, nothing.
func TestWatchdog(t *testing.T) {
	for _, tt := range []struct {
		name string
		usec string
		want bool
	}{{"WatchdogSec=200ms", "200000", true}, {"no WatchdogSec", "", false}} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "notify")
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			t.Setenv("NOTIFY_SOCKET", path)
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); watchdog(stop, slog.New(slog.DiscardHandler)) }()
			defer func() { close(stop); <-done }()
			conn.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 64)
			n, err := conn.Read(buf)
			if got := err == nil && string(buf[:n]) == "WATCHDOG=1"; got != tt.want {
				t.Errorf("WATCHDOG=1 sent: %v (%q, %v), want %v", got, buf[:n], err, tt.want)
			}
		})
	}
}

// TestReloadLimits: a reload changes the connection limits and the idle
// timeout; a configuration that does not load changes neither.
func TestReloadLimits(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "guard.conf")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte("access_drivers = [ \"none\" ]\naudit_level = 0\nxml_policy = \"\"\n"+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	log := slog.New(slog.DiscardHandler)
	cfg, err := loadConfig(conf, log)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := engine.Start(context.Background(), cfg, engine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	st := &running{opts: RunOptions{ConfigPath: conf}, rt: rt, log: log, activated: true, content: NewContentPolicy(nil, false),
		slots: limit.NewConns(cfg.MaxClients, cfg.MaxClientsReserved, cfg.MaxClientsPerUser), idle: newIdleExit(time.Hour)}
	for _, tt := range []struct {
		conf        string
		wantPerUser int
	}{
		{"max_clients_per_user = 1\nguard_idle_timeout = 7\n", 1},
		{"max_clients_per_user = 0\n", 1}, // out of bounds: not loaded
		{"max_clients_per_user = 3\n", 3},
	} {
		write(tt.conf)
		st.reload(context.Background())
		if got := st.slots.PerUser(); got != tt.wantPerUser {
			t.Errorf("after reloading %q: max_clients_per_user %d, want %d", tt.conf, got, tt.wantPerUser)
		}
	}
	if st.idle.timeout != 120*time.Second {
		t.Errorf("guard_idle_timeout %v after the last reload, want the default 2m", st.idle.timeout)
	}
}
