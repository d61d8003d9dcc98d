// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// auditBacklog is the backlog limit tests run with: auditd's usual rules
// raise the kernel's default of 64 to this.
const auditBacklog = 8192

// searchTimeout bounds the wait for records to reach the audit log.
const searchTimeout = 10 * time.Second

// Auditd is the machine's audit daemon, running for a test: found running,
// or started by StartAuditd. Its methods run ausearch and aureport over the
// records written since StartAuditd, so tests see (almost) only their own;
// tests should still mark their records with unique names.
type Auditd struct {
	// Since is the start of the test's time window: ausearch -ts counts in
	// whole seconds.
	Since time.Time
	p     *process // nil if auditd was already running
	// Log is the log auditd writes, when StartAuditdIn moved it; ""
	// for the host's (auditd.conf's log_file and its rotations).
	Log string
}

// StartAuditd makes sure auditd runs and the kernel is set as the tests
// need it (auditSettings), for the rest of the test. If no audit daemon is
// registered with the kernel, it starts auditd (in the foreground, as its
// child) and stops that one, by pid, at cleanup; one that was running is
// left alone. Every kernel setting it or a test changes is put back at
// cleanup, after the auditd it started has stopped. Tests that use it run
// one at a time, across test binaries too; a test that runs a libvirtd
// as well calls StartAuditd first, and once (locks.go).
func StartAuditd(t testing.TB) *Auditd {
	t.Helper()
	return startAuditdConf(t, "")
}

// StartAuditdIn is StartAuditd with auditd writing to one log in dir that
// is never rotated (Auditd.Log), its other settings the host's: for
// counting more records than the host's rotated logs keep (5 of 8 MB by
// default, about 60,000 of ours). An audit daemon that is running already
// is used as it is, and Log is empty: its log cannot be moved.
func StartAuditdIn(t testing.TB, dir string) *Auditd {
	t.Helper()
	return startAuditdConf(t, dir)
}

// startAuditdConf starts auditd with the host's configuration, or with
// one in dir moving the log there.
func startAuditdConf(t testing.TB, dir string) *Auditd {
	t.Helper()
	NeedRoot(t)
	auditd := NeedCommand(t, "auditd")
	for _, c := range []string{"auditctl", "ausearch", "aureport"} {
		NeedCommand(t, c)
	}
	machineLocks.take(t, auditLock)
	prev, err := AuditStatus()
	Need(t, err == nil, fmt.Sprintf("kernel audit status: %v", err))
	t.Cleanup(func() { restoreAudit(t, prev) })
	// Set before auditd starts, so that nothing it is sent meanwhile is
	// lost to a full backlog or a rate limit left by whoever ran before.
	auditctl(t, auditSettings()...)
	a := &Auditd{}
	var args []string
	if dir != "" && !auditdAlive(prev["pid"]) {
		a.Log = filepath.Join(dir, "audit.log")
		args = []string{"-c", writeAuditdConf(t, dir, a.Log)}
	}
	if !auditdAlive(prev["pid"]) {
		a.p = startAuditd(t, auditd, args...)
	}
	// ausearch -ts counts whole seconds: start the window at the next one,
	// so that it holds no record of the test before.
	a.Since = time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(a.Since))
	waitAuditClock(a.Since)
	return a
}

// waitAuditClock waits, for at most 2 s, until the clock that stamps
// audit records has reached t. The kernel stamps them with its coarse
// clock (CLOCK_REALTIME_COARSE), which lags the precise one by up to a
// tick, and by more while CPUs are tickless: a record written just after
// Since could otherwise be stamped the second before, outside ausearch's
// window.
func waitAuditClock(t time.Time) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts) != nil || !time.Unix(ts.Unix()).Before(t) {
			return
		}
	}
}

// auditdAlive reports whether pid, as auditctl -s shows it, is a running
// auditd. The kernel forgets a dead one only when the next one registers.
func auditdAlive(pid string) bool {
	if pid == "" || pid == "0" {
		return false
	}
	comm, err := os.ReadFile("/proc/" + pid + "/comm")
	return err == nil && strings.TrimSpace(string(comm)) == "auditd"
}

// startAuditd runs auditd -n (no fork) without changing the enabled flag,
// and waits until the kernel has it registered.
func startAuditd(t testing.TB, path string, args ...string) *process {
	t.Helper()
	p, err := startProcess("auditd", exec.Command(path, append([]string{"-n", "-s", "nochange"}, args...)...))
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGTERM, stopGrace); err != nil {
			t.Errorf("testsys: stop auditd: %v", err)
		}
	})
	want := strconv.Itoa(p.pid())
	deadline := time.Now().Add(startTimeout)
	for {
		st, err := AuditStatus()
		if err == nil && st["pid"] == want {
			return p
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("testsys: auditd (pid %s) did not register with the kernel (%s, status %v, %v): %s",
				want, p.exitStatus(), st, err, p.output())
		}
		time.Sleep(pollInterval)
	}
}

// auditSettings are the auditctl arguments for the kernel state the tests
// need, whatever the host was left in: audit on, auditd's usual backlog
// limit, the kernel's default wait for a full backlog (60 s at HZ=250),
// no rate limit, and failures only logged.
func auditSettings() []string {
	return []string{"-e", "1", "-b", strconv.Itoa(auditBacklog),
		"--backlog_wait_time", "15000", "-r", "0", "-f", "1"}
}

// restorable maps the fields of auditctl -s that tests change to the
// auditctl option that sets each.
var restorable = []struct{ field, option string }{
	{"enabled", "-e"},
	{"backlog_limit", "-b"},
	{"backlog_wait_time", "--backlog_wait_time"},
	{"rate_limit", "-r"},
	{"failure", "-f"},
}

// restoreAudit puts back the kernel settings found at start. An enabled
// flag of 2 (locked) cannot have been changed, so it is not set.
func restoreAudit(t testing.TB, prev map[string]string) {
	t.Helper()
	var args []string
	for _, r := range restorable {
		v := prev[r.field]
		if v == "" || (r.field == "enabled" && v == "2") {
			continue
		}
		args = append(args, r.option, v)
	}
	if len(args) > 0 {
		auditctl(t, args...)
	}
}

// AuditStatus returns the kernel's audit status (auditctl -s) as a map:
// "enabled", "pid", "backlog_limit", "lost", ...
func AuditStatus() (map[string]string, error) {
	out, err := exec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("auditctl -s: %w: %s", err, bytes.TrimSpace(out))
	}
	st := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok {
			st[k] = v
		}
	}
	return st, nil
}

func auditctl(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("auditctl", args...).CombinedOutput(); err != nil {
		t.Fatalf("testsys: auditctl %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// Disable turns the host's audit off (auditctl -e 0) until cleanup, when
// it is turned on again (before StartAuditd's own restore).
func (a *Auditd) Disable(t testing.TB) {
	t.Helper()
	auditctl(t, "-e", "0")
	t.Cleanup(func() { auditctl(t, "-e", "1") })
}

// SetBacklog sets the kernel's backlog limit and backlog_wait_time (in
// jiffies: the kernel's HZ, 250 on Debian's kernels) until cleanup, when
// the values found are put back.
func (a *Auditd) SetBacklog(t testing.TB, limit, waitJiffies int) {
	t.Helper()
	prev, err := AuditStatus()
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() {
		auditctl(t, "-b", prev["backlog_limit"], "--backlog_wait_time", prev["backlog_wait_time"])
	})
	auditctl(t, "-b", strconv.Itoa(limit), "--backlog_wait_time", strconv.Itoa(waitJiffies))
}

// Pause stops auditd (SIGSTOP) so that records pile up in the kernel, until
// Resume or cleanup. Only an auditd this test started may be paused; the
// test fails (or skips) otherwise.
func (a *Auditd) Pause(t testing.TB) {
	t.Helper()
	Need(t, a.p != nil, "auditd was running before the test; only one it started may be paused")
	a.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { a.signal(t, syscall.SIGCONT) })
}

// Resume lets a paused auditd run again.
func (a *Auditd) Resume(t testing.TB) {
	t.Helper()
	a.signal(t, syscall.SIGCONT)
}

func (a *Auditd) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := a.p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testsys: signal auditd (pid %d): %v", a.p.pid(), err)
	}
}

// Search runs ausearch with args over the records since a.Since and returns
// what it prints; "" when nothing matches.
func (a *Auditd) Search(t testing.TB, args ...string) string {
	t.Helper()
	out, err := a.run("ausearch", args)
	if noMatches(err, out) {
		return ""
	}
	if err != nil {
		t.Fatalf("testsys: ausearch %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// SearchUnenriched is Search over the records with auditd's enrichment
// taken off. An enriched log (auditd.conf log_format = ENRICHED, the
// default) carries, after a 0x1d byte, a name for each uid field, and
// ausearch gives every uid= of a record the name of the first one; without
// it, ausearch -i and -ua <name> look names up themselves. This is what
// "ausearch --raw | sed 's/\x1d.*//' | ausearch ARGS" does.
func (a *Auditd) SearchUnenriched(t testing.TB, args ...string) string {
	t.Helper()
	raw := a.Search(t, "--raw")
	var plain strings.Builder
	for _, line := range strings.SplitAfter(raw, "\n") {
		if i := strings.IndexByte(line, 0x1d); i >= 0 {
			line = line[:i] + "\n"
		}
		plain.WriteString(line)
	}
	c := exec.Command("ausearch", args...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	c.Stdin = strings.NewReader(plain.String()) // a pipe: ausearch reads it
	out, err := c.CombinedOutput()
	if noMatches(err, string(out)) {
		return ""
	}
	if err != nil {
		t.Fatalf("testsys: ausearch %s (unenriched): %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// noMatches reports ausearch's "nothing found": exit status 1 and
// "<no matches>", or nothing at all with --raw.
func noMatches(err error, out string) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) && exit.ExitCode() == 1 &&
		(strings.TrimSpace(out) == "" || strings.TrimSpace(out) == "<no matches>")
}

// WaitSearch runs Search until ok accepts its output, for up to 10 s: auditd
// writes records to the log a little after the kernel took them.
func (a *Auditd) WaitSearch(t testing.TB, ok func(out string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(searchTimeout)
	for {
		out := a.Search(t, args...)
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			st, err := AuditStatus()
			t.Fatalf("testsys: ausearch %s: no wanted output after %v; kernel audit status %v (%v); last output:\n%s",
				strings.Join(args, " "), searchTimeout, st, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Report runs aureport with args over the records since a.Since and
// returns its report, which says so when nothing matched.
func (a *Auditd) Report(t testing.TB, args ...string) string {
	t.Helper()
	out, err := a.run("aureport", args)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && strings.Contains(out, "<no events of interest") {
		return out
	}
	if err != nil {
		t.Fatalf("testsys: aureport %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// ReportSearch pipes the records that ausearch finds with search (over the
// records since a.Since) into aureport with report, as in
// "ausearch -m USER_AVC --raw | aureport --avc", and returns the report.
func (a *Auditd) ReportSearch(t testing.TB, search []string, report ...string) string {
	t.Helper()
	raw := a.Search(t, append([]string{"--raw"}, search...)...)
	c := exec.Command("aureport", report...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	c.Stdin = strings.NewReader(raw)
	out, err := c.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && strings.Contains(string(out), "<no events of interest") {
		return string(out)
	}
	if err != nil {
		t.Fatalf("testsys: aureport %s: %v: %s", strings.Join(report, " "), err, out)
	}
	return string(out)
}

// run runs ausearch or aureport in the C locale, whose -ts format is
// "MM/DD/YY HH:MM:SS", starting at a.Since.
func (a *Auditd) run(cmd string, args []string) (string, error) {
	since := []string{"-ts", a.Since.Format("01/02/06"), a.Since.Format("15:04:05")}
	if a.Log != "" {
		since = append(since, "-if", a.Log)
	}
	c := exec.Command(cmd, append(since, args...)...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	out, err := c.CombinedOutput()
	return string(out), err
}

// Started reports whether StartAuditd started auditd (rather than finding
// it running).
func (a *Auditd) Started() bool { return a.p != nil }

// PID is the pid of auditd as the kernel knows it, or 0.
func (a *Auditd) PID(t testing.TB) int {
	t.Helper()
	st, err := AuditStatus()
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	pid, _ := strconv.Atoi(st["pid"])
	return pid
}

// hostAuditdConf is the host's auditd configuration, which
// writeAuditdConf copies.
const hostAuditdConf = "/etc/audit/auditd.conf"

// writeAuditdConf writes into dir the host's auditd.conf with the log
// moved to log and never rotated, and returns dir, for auditd -c.
func writeAuditdConf(t testing.TB, dir, log string) string {
	t.Helper()
	host, err := os.ReadFile(hostAuditdConf)
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	set := map[string]string{"log_file": log, "max_log_file_action": "IGNORE"}
	var conf strings.Builder
	for _, line := range strings.Split(string(host), "\n") {
		key, _, _ := strings.Cut(line, "=")
		if _, ok := set[strings.TrimSpace(key)]; ok {
			continue
		}
		conf.WriteString(line + "\n")
	}
	for k, v := range set {
		fmt.Fprintf(&conf, "%s = %s\n", k, v)
	}
	// auditd refuses a configuration others may write.
	if err := os.WriteFile(filepath.Join(dir, "auditd.conf"), []byte(conf.String()), 0o640); err != nil {
		t.Fatalf("testsys: %v", err)
	}
	return dir
}

// hostAuditLogs are where the host's auditd writes, with its rotations.
const hostAuditLogs = "/var/log/audit/audit.log*"

// ScanLogs hands read a scanner of each of auditd's logs in turn: the
// one StartAuditdIn moved, or the host's and their rotations. Unlike
// Search, it sees every record, whatever its time.
func (a *Auditd) ScanLogs(read func(*bufio.Scanner)) {
	paths, _ := filepath.Glob(hostAuditLogs)
	if a.Log != "" {
		paths = []string{a.Log}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		read(sc)
		f.Close()
	}
}

// CountLines counts the lines of auditd's logs holding s, waiting until
// want of them are there or the count stopped growing for 2 s (at most
// 30 s): auditd writes asynchronously.
func (a *Auditd) CountLines(s string, want uint64) uint64 {
	var n, last uint64
	for deadline, still := time.Now().Add(30*time.Second), 0; time.Now().Before(deadline) && still < 10; time.Sleep(200 * time.Millisecond) {
		n = 0
		a.ScanLogs(func(sc *bufio.Scanner) {
			for sc.Scan() {
				if strings.Contains(sc.Text(), s) {
					n++
				}
			}
		})
		if n >= want {
			return n
		}
		if n == last {
			still++
		} else {
			still, last = 0, n
		}
	}
	return n
}
