// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// Tests of the daemon against the attacks of issue 12, each with the real
// daemon, polkitd and (where records matter) auditd.

// setuidCopy copies the program at path into dir as a setuid-root
// executable, the way su or passwd is installed.
func setuidCopy(t *testing.T, dir, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "suid-"+filepath.Base(path))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, os.ModeSetuid|0o755); err != nil { // the test runs as root: owner root
		t.Fatal(err)
	}
	return dst
}

// waitEUID waits until process pid runs with effective uid uid.
func waitEUID(t *testing.T, pid int32, uid uint32) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, err := proc.Lookup(pid)
		if err == nil && p.UID == uid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never ran as uid %d: %+v, %v", pid, uid, p, err)
		}
	}
}

// TestSubjectTurnedRoot: a proxy asks about its client, which then
// executes a setuid-root program. The same pid and start time now run as
// uid 0, which polkit allows everything; the daemon must not ask polkit
// about uid 0 on the proxy's word for alice.
func TestSubjectTurnedRoot(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	suid := setuidCopy(t, w.Dir, testsys.NeedCommand(t, "sleep"))
	stdin, trigger := io.Pipe()
	defer trigger.Close()
	// alice's process: waits for a line, then executes the setuid program,
	// as `su` waiting for a password would run as root.
	alice := w.alice.StartCommand(t, stdin, "/bin/sh", "-c", `read line; exec "$0" 3600`, suid)
	c := d.client(t)
	ctx := context.Background()
	others := accessapi.CheckParams{Object: vm("bob-vm", "0ee00000-0000-4000-8000-000000000002"), Permission: "start", Subject: alice.Subject()}

	r, err := c.Check(ctx, others)
	if err != nil || r.Allowed {
		t.Fatalf("alice's process about bob's vm, before the exec: %+v, %v; want denied", r, err)
	}
	if _, err := fmt.Fprintln(trigger); err != nil {
		t.Fatal(err)
	}
	waitEUID(t, alice.PID, 0)

	if _, err := c.Flush(ctx, accessapi.FlushParams{}); err != nil { // no cached answer may hide the question
		t.Fatal(err)
	}
	r, err = c.Check(ctx, others)
	if client.ErrorName(err) != accessapi.ErrNoSuchProcess {
		t.Errorf("pinned to alice's uid, after the exec: %+v, %v; want NoSuchProcess", r, err)
	}
	unpinned := others
	unpinned.Subject = &accessapi.Subject{PID: int64(alice.PID), StartTime: alice.Subject().StartTime}
	r, err = c.Check(ctx, unpinned)
	if client.ErrorName(err) != accessapi.ErrInvalidRequest {
		t.Errorf("pid and start time only, after the exec: %+v, %v; want InvalidRequest (uid required)", r, err)
	}
	// The command line pins the same way; carol is a polkit-privileged proxy.
	code, out := w.cli(t, d, &w.carol, "check", "domain", "start", "--name", "bob-vm", "--uuid", "0ee00000-0000-4000-8000-000000000002",
		"--pid", strconv.Itoa(int(alice.PID)), "--uid", strconv.Itoa(int(alice.UID)), "--start-time", strconv.FormatUint(alice.StartTime, 10))
	if code != 2 || !strings.Contains(out, "no such process") {
		t.Errorf("check --pid --uid --start-time after the exec: exit %d, %q; want exit 2, no such process", code, out)
	}
}

// TestNestedPIDNamespace: root inside `unshare --pid` names pid 2 of its
// own namespace; on the host pid 2 is kthreadd (uid 0, allowed
// everything). The daemon must refuse rather than answer about it.
func TestNestedPIDNamespace(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	unshare := testsys.NeedCommand(t, "unshare")
	host, err := proc.Lookup(2)
	if err != nil {
		t.Fatalf("host pid 2: %v", err)
	}
	args := []string{"check", "domain", "start", "--name", "bob-vm", "--uuid", "0ee00000-0000-4000-8000-000000000002",
		"--pid", "2", "--uid", strconv.Itoa(int(host.UID))}

	// From the host's namespace the same question is about kthreadd.
	if code, out := w.cli(t, d, nil, args...); code != 0 {
		t.Fatalf("from the host: exit %d, %q; want allowed (pid 2 is root's kthreadd)", code, out)
	}
	cmd := exec.Command(unshare, append([]string{"--pid", "--fork", "--mount-proc", w.Bin}, args...)...)
	cmd.Env = []string{"VIRT_ACL_HELPER_SOCKET=" + d.sock, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "pid namespace") {
		t.Errorf("from a nested pid namespace: exit %d, %q (%v); want exit 2, refused for its pid namespace", code, out, err)
	}
	// Asking about itself from there still works.
	cmd = exec.Command(unshare, "--pid", "--fork", "--mount-proc", w.Bin, "check", "domain", "getattr", "--name", "bob-vm",
		"--uuid", "0ee00000-0000-4000-8000-000000000002")
	cmd.Env = []string{"VIRT_ACL_HELPER_SOCKET=" + d.sock, "PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("about itself from a nested pid namespace: %v, %q", err, out)
	}
}
