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
	"syscall"
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

// TestRecordsNameTheRequester: any user may ask about itself with object
// details it made up; its record must not look like one a proxy vouched
// for. Every record says requester=self or names the proxy, and
// restrict_object_details = 1 keeps an unprivileged caller's details out
// of the decision and the record.
func TestRecordsNameTheRequester(t *testing.T) {
	w := newWorld(t)
	auditd := testsys.StartAuditd(t)
	conf := strings.Replace(baseConf, "audit_level = 0", "audit_level = 2", 1)
	d := w.startActivated(t, w.Config(t, "c.conf", conf))
	alice := w.alice.Start(t)
	vmName := fmt.Sprintf("req-%d", time.Now().UnixNano()%1e9)
	uuid := "5eed0000-0000-4000-8000-000000000001"
	obj := []string{"domain", "start", "--name", vmName, "--uuid", uuid}
	// bob names an object he chose; carol, a proxy, asks about alice.
	w.cli(t, d, &w.bob, append([]string{"check"}, obj...)...)
	w.cli(t, d, &w.carol, append([]string{"check", "--pid", strconv.Itoa(int(alice.PID)), "--uid", strconv.Itoa(int(alice.UID))}, obj...)...)
	out := auditd.WaitSearch(t, func(out string) bool { return strings.Count(out, "type=USER_AVC") == 2 }, "-m", "USER_AVC", "-w", "--vm-name", vmName)
	t.Logf("ausearch --vm-name %s:\n%s", vmName, out)
	bobs := auditd.Search(t, "-ua", strconv.Itoa(int(w.bob.UID)), "--vm-name", vmName)
	if strings.Count(bobs, "type=USER_AVC") != 1 || !strings.Contains(bobs, " requester=self ") {
		t.Errorf("bob's own question is not marked requester=self:\n%s", bobs)
	}
	for _, search := range []func(testing.TB, ...string) string{auditd.Search, auditd.SearchUnenriched} {
		alices := search(t, "-ua", strconv.Itoa(int(w.alice.UID)), "--vm-name", vmName)
		want := " requester=proxy proxy_pid="
		if strings.Count(alices, "type=USER_AVC") != 1 || !strings.Contains(alices, want) ||
			!strings.Contains(alices, fmt.Sprintf(" proxy_user=%d ", w.carol.UID)) {
			t.Errorf("the question asked on alice's behalf does not name carol as the proxy:\n%s", alices)
		}
		if n := strings.Count(search(t, "-ua", strconv.Itoa(int(w.carol.UID))), "type=USER_AVC"); n != 0 {
			t.Errorf("ausearch -ua <the proxy's uid> found %d records; want none (they are alice's)", n)
		}
	}

	// With restrict_object_details = 1, bob's details are not taken:
	// polkit and the record see a domain, not the VM he named; the proxy's
	// details still are.
	w.Config(t, "c.conf", conf+"restrict_object_details = 1\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.notify.waitCount(t, "READY=1", 2, d)
	other := fmt.Sprintf("req2-%d", time.Now().UnixNano()%1e9)
	obj = []string{"domain", "getattr", "--name", other, "--uuid", uuid}
	w.cli(t, d, &w.bob, append([]string{"check"}, obj...)...)
	w.cli(t, d, &w.carol, append([]string{"check", "--pid", strconv.Itoa(int(alice.PID)), "--uid", strconv.Itoa(int(alice.UID))}, obj...)...)
	auditd.WaitSearch(t, func(out string) bool { return strings.Count(out, "type=USER_AVC") == 1 }, "-m", "USER_AVC", "-w", "--vm-name", other)
	bobs = auditd.Search(t, "-ua", strconv.Itoa(int(w.bob.UID)), "-m", "USER_AVC", "-p", strconv.Itoa(d.cmd.Process.Pid))
	last := bobs[strings.LastIndex(bobs, "type=USER_AVC"):]
	if strings.Contains(last, other) || strings.Contains(last, "uuid=") || !strings.Contains(last, "permission=getattr") ||
		!strings.Contains(last, " requester=self ") {
		t.Errorf("with restrict_object_details = 1 bob's record still carries his details:\n%s", last)
	}
	if code, out := w.cli(t, d, &w.alice, "check", "domain", "start", "--name", "alice-vm", "--uuid", aliceUUID); code != 1 {
		t.Errorf("alice about her own vm by name, details restricted: exit %d, %q; want denied (the rule needs domain_name)", code, out)
	}
}
