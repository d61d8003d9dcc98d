// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// runEnv marks the test binary re-run as a guard by TestRunActivated; its
// value is libvirtd's (the fake's) socket.
const runEnv = "VIRT_ACL_HELPER_TEST_GUARD_UPSTREAM"

// TestRunActivated runs the guard command's Run in a child process
// handed two listening sockets as systemd hands them (LISTEN_FDS,
// LISTEN_FDNAMES=libvirt:libvirt-ro), and checks that it serves each: a
// client on the read-only socket gets a read-only connection to
// libvirtd, one on the read-write socket a read-write one. Given sockets
// and a --listen path too, it refuses to start.
func TestRunActivated(t *testing.T) {
	if up := os.Getenv(runEnv); up != "" {
		runChild(up)
		return
	}
	up := startFakeLibvirtd(t)
	dir := t.TempDir()
	rw, ro := filepath.Join(dir, "libvirt-sock"), filepath.Join(dir, "libvirt-sock-ro")
	policy := filepath.Join(dir, "xml-policy.toml")
	if err := os.WriteFile(policy, xmlpolicy.DefaultFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := writeConf(t, dir, "guard.conf", policy)

	t.Run("a missing XML policy stops the start", func(t *testing.T) {
		missing := writeConf(t, dir, "missing.conf", filepath.Join(dir, "nonexistent.toml"))
		out, err := startGuardChild(t, up.path, missing, "", filepath.Join(dir, "s1")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "XML content policy") || !strings.Contains(string(out), "nonexistent.toml") {
			t.Errorf("child: %v, want it to refuse to start without its XML policy:\n%s", err, out)
		}
	})

	t.Run("sockets and --listen", func(t *testing.T) {
		out, err := startGuardChild(t, up.path, conf, filepath.Join(dir, "extra")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "use one or the other") {
			t.Errorf("child: %v, want it to refuse sockets and --listen at once:\n%s", err, out)
		}
	})

	cmd := startGuardChild(t, up.path, conf, "", rw, ro)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("guard's log:\n%s", log.String())
		}
	})
	for i, s := range []struct {
		path   string
		wantRO bool
	}{{ro, true}, {rw, false}} {
		c := &client{t: t, c: dialWait(t, s.path)}
		t.Cleanup(func() { c.c.Close() })
		if code := c.call(proto.RemoteProcAuthList, &proto.Void{}); code != 0 {
			t.Fatalf("%s: AUTH_LIST: error %d", s.path, code)
		}
		c.open()
		// Each client has two connections to libvirtd: its own, then the
		// guard's lookups.
		var open proto.RemoteConnectOpenArgs
		if err := proto.Unmarshal(up.calls(2 * i)[0].Body, &open); err != nil {
			t.Fatal(err)
		}
		if got := open.Flags&connectRO != 0; got != s.wantRO {
			t.Errorf("client of %s opened libvirtd read-only: %v, want %v", s.path, got, s.wantRO)
		}
	}
}

// writeConf writes a guard configuration with the XML policy at policy.
func writeConf(t *testing.T, dir, name, policy string) string {
	t.Helper()
	conf := filepath.Join(dir, name)
	text := fmt.Sprintf("access_drivers = [ \"none\" ]\naudit_level = 0\nxml_policy = %q\n", policy)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// startGuardChild returns the command running this test binary as a guard
// in front of upstream, passed a listening socket for each of paths as
// systemd passes them, and given --listen listen when it is not "".
func startGuardChild(t *testing.T, upstream, conf, listen string, paths ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunActivated$")
	cmd.Env = append(os.Environ(), runEnv+"="+upstream, "VAH_TEST_CONF="+conf, "VAH_TEST_LISTEN="+listen)
	if len(paths) == 0 {
		paths = []string{filepath.Join(t.TempDir(), "s")}
	}
	names := []string{FDName, FDNameReadOnly}[:len(paths)]
	cmd.Env = append(cmd.Env, fmt.Sprintf("LISTEN_FDS=%d", len(paths)), "LISTEN_FDNAMES="+strings.Join(names, ":"))
	for _, p := range paths {
		cmd.ExtraFiles = append(cmd.ExtraFiles, testsys.ListenerFile(t, p))
	}
	return cmd
}

// runChild runs in the child: it claims the descriptors (LISTEN_PID
// must name the process that takes them) and runs the guard.
func runChild(upstream string) {
	os.Setenv("LISTEN_PID", fmt.Sprint(os.Getpid()))
	err := Run(context.Background(), RunOptions{Upstream: upstream, ConfigPath: os.Getenv("VAH_TEST_CONF"),
		Listen: os.Getenv("VAH_TEST_LISTEN")})
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// dialWait connects to path, waiting for the child to serve it.
func dialWait(t *testing.T, path string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
