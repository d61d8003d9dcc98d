// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
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

// floodEnv makes the test binary, run again as a test user, a client of
// TestRateLimitFlood: "flood" or "paced", then the socket and duration.
const floodEnv = "VIRT_ACL_HELPER_FLOOD"

// floodReport is what a client run reports, on a line starting "REPORT ".
type floodReport struct {
	OK, Limited, Failed int
	FirstErr            string
	P50, P99            time.Duration
	// For "hold": connections refused at once, and ones the daemon
	// closed later.
	Refused, Cut int
}

// holdClient runs in the child: it opens n connections and keeps each
// busy with a GetInfo every 300 ms, for the duration.
func holdClient(sock string, n int, dur time.Duration) {
	var mu sync.Mutex
	var rep floodReport
	var wg sync.WaitGroup
	end := time.Now().Add(dur)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := varlink.Dial(context.Background(), sock)
			if err != nil {
				mu.Lock()
				rep.Failed++
				mu.Unlock()
				return
			}
			defer c.Close()
			for first := true; time.Now().Before(end); first = false {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.Call(ctx, varlink.ServiceInterface+".GetInfo", nil, nil)
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					rep.OK++
				case first && client.ErrorName(err) == accessapi.ErrTooManyConnections:
					rep.Refused++
				case !first:
					rep.Cut++
				default:
					rep.Failed++
					rep.FirstErr = err.Error()
				}
				mu.Unlock()
				if err != nil {
					return
				}
				time.Sleep(300 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	b, _ := json.Marshal(rep)
	fmt.Printf("REPORT %s\n", b)
}

// floodClient runs in the child: "flood" asks as fast as 16 connections
// can, "paced" asks every 100 ms (under rate_limit) on one connection, for the duration.
func floodClient() {
	f := strings.Fields(os.Getenv(floodEnv))
	mode, sock := f[0], f[1]
	dur, _ := time.ParseDuration(f[2])
	if mode == "ask" {
		askerClient(sock, f[3:])
		return
	}
	if mode == "many" {
		manyClient(sock, dur)
		return
	}
	if n, ok := strings.CutPrefix(mode, "hold"); ok {
		conns, _ := strconv.Atoi(n)
		holdClient(sock, conns, dur)
		return
	}
	workers, pause := 16, time.Duration(0)
	if mode == "paced" {
		workers, pause = 1, 100*time.Millisecond
	}
	params := accessapi.CheckParams{Object: vm("flood-vm", "f1000000-0000-4000-8000-000000000001"), Permission: "getattr"}
	var mu sync.Mutex
	var rep floodReport
	var lat []time.Duration
	var wg sync.WaitGroup
	end := time.Now().Add(dur)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.Dial(context.Background(), sock)
			if err != nil {
				mu.Lock()
				rep.Failed++
				rep.FirstErr = err.Error()
				mu.Unlock()
				return
			}
			defer c.Close()
			for time.Now().Before(end) {
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := c.Check(ctx, params)
				cancel()
				took := time.Since(start)
				mu.Lock()
				switch {
				case err == nil:
					rep.OK++
					lat = append(lat, took)
				case client.ErrorName(err) == accessapi.ErrRateLimited:
					rep.Limited++
				default:
					rep.Failed++
					if rep.FirstErr == "" {
						rep.FirstErr = err.Error()
					}
				}
				mu.Unlock()
				time.Sleep(pause)
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		rep.P50, rep.P99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	b, _ := json.Marshal(rep)
	fmt.Printf("REPORT %s\n", b)
}

// testBinary copies the test binary where the test users can run it.
func testBinary(t *testing.T, w *world) string {
	t.Helper()
	bin := filepath.Join(w.Dir, "daemon.test")
	if data, err := os.ReadFile(os.Args[0]); err != nil || os.WriteFile(bin, data, 0o755) != nil {
		t.Fatalf("copy the test binary: %v", err)
	}
	return bin
}

// childAs is the test binary as a client run (floodEnv set to args), as u.
func childAs(bin string, u testsys.User, args string) *exec.Cmd {
	cmd := exec.Command(bin, "-test.run=^TestRateLimitFlood$", "-test.count=1")
	cmd.Env = []string{floodEnv + "=" + args, "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}}
	return cmd
}

// runFlood runs the test binary as u in the given mode and returns its report.
func runFlood(t *testing.T, bin string, u testsys.User, mode, sock string, dur time.Duration) (floodReport, error) {
	cmd := childAs(bin, u, mode+" "+sock+" "+dur.String())
	out, err := cmd.CombinedOutput()
	var rep floodReport
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "REPORT "); ok {
			return rep, json.Unmarshal([]byte(rest), &rep)
		}
	}
	return rep, fmt.Errorf("%s client reported nothing: %v\n%s", mode, err, out)
}

// auditLogSize is the size of auditd's log now.
func auditLogSize(t *testing.T) int64 {
	fi, err := os.Stat("/var/log/audit/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestRateLimitFlood: one user asks as fast as 16 connections allow
// while another asks at a steady pace. The flooder is limited to
// rate_limit (its excess refused with RateLimited and accounted for in
// summary records, not one record each), so the audit log grows by what
// the limit allows; the other user's checks all succeed.
func TestRateLimitFlood(t *testing.T) {
	if os.Getenv(floodEnv) != "" {
		floodClient()
		return
	}
	const rate, burst, dur = 20, 20, 4 * time.Second
	w := newWorld(t)
	auditd := testsys.StartAuditd(t)
	conf := strings.Replace(baseConf, "audit_level = 0", "audit_level = 2", 1) +
		fmt.Sprintf("rate_limit = %d\nrate_limit_burst = %d\n", rate, burst)
	d := w.startActivated(t, w.Config(t, "c.conf", conf))
	bin := testBinary(t, w)
	before := auditLogSize(t)

	var flood, paced floodReport
	var floodErr, pacedErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); flood, floodErr = runFlood(t, bin, w.bob, "flood", d.sock, dur) }()
	go func() { defer wg.Done(); paced, pacedErr = runFlood(t, bin, w.alice, "paced", d.sock, dur) }()
	wg.Wait()
	if floodErr != nil || pacedErr != nil {
		t.Fatalf("clients: %v; %v", floodErr, pacedErr)
	}
	t.Logf("flooding user: %d answered, %d rate-limited, %d failed", flood.OK, flood.Limited, flood.Failed)
	t.Logf("other user: %d answered, %d rate-limited, %d failed; latency p50 %v, p99 %v", paced.OK, paced.Limited, paced.Failed, paced.P50, paced.P99)
	// The flooder's decisions: the burst plus rate_limit a second, plus
	// one in flight per connection when its bucket ran dry.
	allowed := burst + rate*int(dur/time.Second+1) + 16
	if flood.OK > allowed || flood.Limited == 0 || flood.Failed != 0 {
		t.Errorf("flooding user: %d answered (at most %d allowed), %d limited, %d failed (%s)", flood.OK, allowed, flood.Limited, flood.Failed, flood.FirstErr)
	}
	if paced.Failed != 0 || paced.Limited != 0 || paced.OK < int(dur/(200*time.Millisecond)) {
		t.Errorf("other user: %d answered, %d limited, %d failed (%s)", paced.OK, paced.Limited, paced.Failed, paced.FirstErr)
	}

	// Stopping the daemon writes the last summary.
	pid := strconv.Itoa(d.cmd.Process.Pid)
	d.stop(syscall.SIGTERM)
	bobUID := strconv.Itoa(int(w.bob.UID))
	records := auditd.WaitSearch(t, func(out string) bool { return strings.Contains(out, "reason=rate-limited") },
		"-m", "USER_AVC", "-p", pid, "-ua", bobUID)
	decisions, summaries, refused := 0, 0, 0
	for _, line := range strings.Split(records, "\n") {
		switch {
		case strings.Contains(line, "reason=rate-limited"):
			summaries++
			if m := regexp.MustCompile(`refused_calls="(\d+)"`).FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				refused += n
			}
		case strings.HasPrefix(line, "type=USER_AVC"):
			decisions++
		}
	}
	t.Logf("flooding user's records: %d decisions, %d summaries accounting for %d refused calls", decisions, summaries, refused)
	if decisions != flood.OK || summaries < 1 || summaries > int(dur/engine.SummaryEvery)+2 || refused != flood.Limited {
		t.Errorf("flooding user's records: %d decisions (answered %d), %d summaries for %d refused (refused %d)",
			decisions, flood.OK, summaries, refused, flood.Limited)
	}
	grown := auditLogSize(t) - before
	bound := int64(allowed+paced.OK+summaries) * 1024
	t.Logf("audit log grew by %d bytes during the flood (bound %d)", grown, bound)
	if grown > bound {
		t.Errorf("audit log grew by %d bytes, more than %d allows", grown, bound)
	}
}

// TestConnectionSlots: one user opening connections and keeping them
// busy with a GetInfo every 300 ms held every slot (max_clients = 4) and
// locked everyone else out. Now a user gets max_clients_per_user, the
// users together leave max_clients_reserved to root and proxies, a
// refusal is a prompt TooManyConnections, and client_max_lifetime
// closes a connection however busy it is kept.
func TestConnectionSlots(t *testing.T) {
	w := newWorld(t)
	// Six slots: four for users, two for root (one taken by the harness's first client) and proxies.
	conf := baseConf + "max_clients = 6\nmax_clients_reserved = 2\nmax_clients_per_user = 2\nclient_max_lifetime = 3\n"
	d := w.startActivated(t, w.Config(t, "c.conf", conf))
	bin := testBinary(t, w)
	const hold = 6 * time.Second
	var bob, alice floodReport
	var bobErr, aliceErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); bob, bobErr = runFlood(t, bin, w.bob, "hold4", d.sock, hold) }()
	go func() { defer wg.Done(); alice, aliceErr = runFlood(t, bin, w.alice, "hold2", d.sock, hold) }()
	time.Sleep(1500 * time.Millisecond) // both hold their connections: the four unprivileged slots are taken

	own := []string{"check", "domain", "getattr", "--name", "alice-vm", "--uuid", aliceUUID, "--timeout", "5s"}
	start := time.Now()
	code, out := w.cli(t, d, &w.bob, own...)
	if code != 2 || !strings.Contains(out, "too many connections") || time.Since(start) > 3*time.Second {
		t.Errorf("bob over his share: exit %d, %q after %v; want a prompt TooManyConnections", code, out, time.Since(start))
	}
	if code, out := w.cli(t, d, nil, own...); code != 0 {
		t.Errorf("root, with the users' slots taken: exit %d, %q; want served from the reserved slot", code, out)
	}
	if code, out := w.cli(t, d, &w.carol, own...); code != 0 {
		t.Errorf("carol (a proxy), with the users' slots taken: exit %d, %q; want served from the reserved slot", code, out)
	}
	wg.Wait()
	if bobErr != nil || aliceErr != nil {
		t.Fatalf("clients: %v; %v", bobErr, aliceErr)
	}
	t.Logf("bob: %+v", bob)
	t.Logf("alice: %+v", alice)
	if bob.Refused != 2 || bob.Cut != 2 || bob.Failed != 0 {
		t.Errorf("bob's four connections: %d refused (want 2), %d cut by client_max_lifetime (want 2), %d failed (%s)",
			bob.Refused, bob.Cut, bob.Failed, bob.FirstErr)
	}
	if alice.Refused != 0 || alice.Cut != 2 || alice.Failed != 0 {
		t.Errorf("alice's two connections: %d refused, %d cut (want 2), %d failed (%s)", alice.Refused, alice.Cut, alice.Failed, alice.FirstErr)
	}
	if code, out := w.cli(t, d, &w.bob, own...); code != 0 {
		t.Errorf("bob once his connections were closed: exit %d, %q", code, out)
	}
}

// TestReloadLeavesNothingStale: reloading (SIGHUP) is how an admin drops
// cached decisions that no polkit signal made stale (a rule reading
// outside state). A CheckMany that took the old engine before the reload
// must not answer from that cache afterwards; and a connection's
// privilege, granted by polkit, must not outlive polkit's Changed.
func TestReloadLeavesNothingStale(t *testing.T) {
	w := newWorld(t)
	erin := testsys.AddUser(t, "erin")
	grant := w.PK.AddRule(t, "erin", fmt.Sprintf(`
polkit.addRule(function(action, subject) {
    if (subject.user == %q && action.id == %q) return polkit.Result.YES;
});`, erin.Name, policy.ActionCheckOther))
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	alice := w.alice.Start(t)
	c := d.client(t)
	ctx := context.Background()
	own := vm("alice-vm", aliceUUID)
	if r, err := c.Check(ctx, accessapi.CheckParams{Object: own, Permission: "start", Subject: alice.Subject()}); err != nil || !r.Allowed {
		t.Fatalf("alice-vm: %+v, %v", r, err)
	}

	// Sixteen questions about slow-vm (one polkit call of 1.5 s) hold
	// CheckMany's sixteen workers; alice-vm, cached, is asked after them,
	// once the reload has replaced the engine.
	objs := make([]accessapi.Object, 0, 17)
	for range 16 {
		objs = append(objs, vm("slow-vm", aliceUUID))
	}
	objs = append(objs, own)
	type result struct {
		rs  []accessapi.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		rs, err := d.client(t).CheckMany(ctx, accessapi.CheckManyParams{Permission: "start", Objects: objs, Subject: alice.Subject()})
		done <- result{rs, err}
	}()
	time.Sleep(300 * time.Millisecond)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.notify.waitCount(t, "READY=1", 2, d)
	res := <-done
	if res.err != nil || len(res.rs) != 17 {
		t.Fatalf("CheckMany: %+v, %v", res.rs, res.err)
	}
	if r := res.rs[16]; !r.Allowed || r.Cached {
		t.Errorf("alice-vm in a CheckMany straddling the reload: %+v; want decided afresh, not from the cache the reload dropped", r)
	}

	// erin's privilege is remembered on her connection; polkit's Changed
	// (her rule removed) must drop it at once, not after cache_allow_ttl.
	ask := startAsker(t, testBinary(t, w), erin, d.sock, alice)
	if got := ask(); got != "ok" {
		t.Fatalf("erin's connection, granted check-other: %s", got)
	}
	grant.Remove(t)
	got := ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = ask(); got == accessapi.ErrNotPrivileged {
			return
		}
	}
	t.Errorf("erin's connection after her grant was removed: %s; want NotPrivileged within 5 s (cache_allow_ttl is 30 s)", got)
}

// askerClient runs in the child: on one connection, for each line on
// stdin, it asks about the process its arguments pin and prints
// "ANSWER ok" or "ANSWER <error name>".
func askerClient(sock string, args []string) {
	pid, _ := strconv.ParseInt(args[0], 10, 64)
	uid, _ := strconv.ParseInt(args[1], 10, 64)
	start, _ := strconv.ParseUint(args[2], 10, 64)
	c, err := client.Dial(context.Background(), sock)
	if err != nil {
		fmt.Printf("ANSWER %v\n", err)
		return
	}
	p := accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "start",
		Subject: &accessapi.Subject{PID: pid, UID: &uid, StartTime: &start}}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		_, err := c.Check(context.Background(), p)
		answer := "ok"
		if err != nil {
			answer = client.ErrorName(err)
		}
		fmt.Printf("ANSWER %s\n", answer)
	}
}

// startAsker runs askerClient as u, about subject; each call of the
// function it returns asks once on the same connection.
func startAsker(t *testing.T, bin string, u testsys.User, sock string, subject testsys.Proc) func() string {
	t.Helper()
	cmd := childAs(bin, u, fmt.Sprintf("ask %s 0s %d %d %d", sock, subject.PID, subject.UID, subject.StartTime))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	out := bufio.NewScanner(stdout)
	return func() string {
		fmt.Fprintln(stdin, "ask")
		for out.Scan() {
			if rest, ok := strings.CutPrefix(out.Text(), "ANSWER "); ok {
				return rest
			}
		}
		return "no answer"
	}
}

// manyClient runs in the child: 16 connections each ask one CheckMany of
// 300 objects never asked before, all at once; or, with a duration, one
// CheckMany of 3000 that it gives up on (hangs up) after the duration.
func manyClient(sock string, hangup time.Duration) {
	conns, objects := 16, 300
	if hangup > 0 {
		conns, objects = 1, 3000
	}
	var rep floodReport
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			objs := make([]accessapi.Object, objects)
			for j := range objs {
				objs[j] = vm(fmt.Sprintf("many-%d-%d-%d", os.Getpid(), i, j), fmt.Sprintf("a0000000-0000-4000-8000-%012d", i*100000+j))
			}
			c, err := client.Dial(context.Background(), sock)
			if err != nil {
				return
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			if hangup > 0 {
				ctx, cancel = context.WithTimeout(context.Background(), hangup)
			}
			defer cancel()
			_, err = c.CheckMany(ctx, accessapi.CheckManyParams{Permission: "start", Objects: objs})
			mu.Lock()
			if err == nil {
				rep.OK++
			} else {
				rep.Failed++
				rep.FirstErr = err.Error()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	b, _ := json.Marshal(rep)
	fmt.Printf("REPORT %s\n", b)
}

// polkitCalls is the daemon's count of polkit driver calls so far.
func polkitCalls(t *testing.T, c *client.Client) uint64 {
	t.Helper()
	s, err := c.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range s.DriverStats {
		if d.Name == "polkit" {
			return d.Calls
		}
	}
	return 0
}

// TestPolkitCallBudget: every polkit call shares one bus connection, on
// which dbus-daemon allows 128 pending replies. One user's uncached
// CheckMany calls (16 connections, 16 workers each) must not make polkit
// "unavailable" for another user; and a client that hangs up stops the
// polkit calls made for it.
func TestPolkitCallBudget(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf+"rate_limit = 0\npolkit_max_calls = 64\n"))
	bin := testBinary(t, w)
	root := d.client(t)

	var many floodReport
	var manyErr error
	done := make(chan struct{})
	go func() { defer close(done); many, manyErr = runFlood(t, bin, w.bob, "many", d.sock, 0) }()
	time.Sleep(500 * time.Millisecond)
	unavailable, answered := 0, 0
	var lat []time.Duration
	for i := 0; ; i++ {
		select {
		case <-done:
		default:
			start := time.Now()
			code, out := w.cli(t, d, &w.alice, "check", "domain", "start", "--name", fmt.Sprintf("alice-new-%d", i),
				"--uuid", fmt.Sprintf("a11ce000-0000-4000-8000-%012d", i))
			lat = append(lat, time.Since(start))
			switch {
			case code == 2 && strings.Contains(out, "unavailable"):
				unavailable++
			case code == 1:
				answered++
			default:
				t.Errorf("alice's uncached check: exit %d, %q", code, out)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		break
	}
	if manyErr != nil {
		t.Fatal(manyErr)
	}
	slices.Sort(lat)
	t.Logf("bob's CheckMany calls: %+v", many)
	t.Logf("alice meanwhile: %d answered, %d unavailable; p99 %v", answered, unavailable, lat[len(lat)*99/100])
	if unavailable != 0 || answered == 0 || many.Failed != 0 {
		t.Errorf("alice: %d unavailable of %d; bob: %d failed (%s)", unavailable, answered+unavailable, many.Failed, many.FirstErr)
	}

	// A CheckMany of 3000 new objects, given up on after half a second.
	if _, err := runFlood(t, bin, w.bob, "many", d.sock, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	after := polkitCalls(t, root)
	time.Sleep(2 * time.Second)
	if later := polkitCalls(t, root); later > after+64 {
		t.Errorf("polkit calls went on after the client hung up: %d a second after, %d two seconds later", after, later)
	}
}

// TestHostileClientsDoNotFloodTheLog: each refused, malformed or
// oversized connection logged a warning, so any user could push the
// daemon's real warnings past journald's rate limit. One warning per
// kind in 10 s is left, saying how many were held back.
func TestHostileClientsDoNotFloodTheLog(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf+"max_message_size = 1024\n"))
	for _, msg := range []string{"not json\x00", strings.Repeat("x", 2000) + "\x00"} {
		for range 50 {
			nc, err := net.Dial("unix", d.sock)
			if err != nil {
				t.Fatal(err)
			}
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			nc.Write([]byte(msg))
			varlink.NewReader(nc, 1<<20).ReadMessage()
			nc.Close()
		}
	}
	if r, err := d.client(t).Check(context.Background(), accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "getattr"}); err != nil || !r.Allowed {
		t.Errorf("a well-behaved client after the hostile ones: %+v, %v", r, err)
	}
	out := d.out.String()
	malformed, large := strings.Count(out, "malformed request"), strings.Count(out, "request too large")
	t.Logf("100 hostile connections left %d malformed and %d too-large warnings", malformed, large)
	if malformed < 1 || malformed > 2 || large < 1 || large > 2 {
		t.Errorf("%d malformed-request and %d too-large warnings for 50 of each; want one or two each:\n%s", malformed, large, out)
	}
}
