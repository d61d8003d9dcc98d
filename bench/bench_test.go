// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// Sizes of the measured loops.
const (
	cachedCalls   = 20000
	uncachedCalls = 500
	directCalls   = 1000
	sustainFor    = 5 * time.Second
	sustainConns  = 4
	fillObjects   = 100000
)

// conf is the configuration of every daemon and guard the benchmark
// starts. rate_limit is off: the guard's client is the benchmark's user,
// whom the default (100 a second) would refuse mid-loop; the daemon's
// callers are root, never limited.
func conf(auditLevel int) string {
	return fmt.Sprintf("access_drivers = [ \"polkit\" ]\naudit_level = %d\nlog_level = 3\nidle_timeout = 0\n"+
		"cache_size = 200000\ncache_allow_ttl = 3600\nmax_objects = 16384\nmax_message_size = 33554432\nrate_limit = 0\n", auditLevel)
}

// bench is one run's shared state.
type bench struct {
	t      *testing.T
	w      *daemontest.World
	user   testsys.User
	subj   testsys.Proc
	report *Report
	token  string // marks this run's objects, and so its audit records

	guardTargets []Target // the guard list benchmark's goals (guard_test.go)
	rules        ruleFiles
}

func TestBench(t *testing.T) {
	b, auditd := newBench(t)
	t.Cleanup(func() { // what was measured before a failure
		if t.Failed() {
			b.report.Print(os.Stdout)
		}
	})
	off, on := b.socket()
	b.direct()
	b.sustained(on, auditd)
	b.checkMany(on)
	b.memory(off)
	b.guard()
	b.guardList(b.user)
	b.xmlPolicy()
	b.report.judge()
	b.report.Targets = append(b.report.Targets, b.guardTargets...)
	b.report.Print(os.Stdout)
	dir := filepath.Join("..", "results")
	if err := b.report.Write(dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s/bench.json and %s/bench.svg", dir, dir)
}

// newBench starts auditd, the benchmark's user and one of its processes,
// and polkitd with the benchmark's rules.
func newBench(t *testing.T) (*bench, *testsys.Auditd) {
	b := &bench{t: t, w: daemontest.NewWorld(t), report: newReport(), token: fmt.Sprintf("r%d", time.Now().Unix()%1e6)}
	// Its own log, never rotated: the sustained run writes more records
	// than the host's rotated logs keep, and counts them all.
	auditd := testsys.StartAuditdIn(t, t.TempDir())
	u := testsys.AddUser(t, "bench")
	b.user, b.subj = u, u.Start(t)
	rules, withLibvirt := Rules(u.Name)
	b.report.Machine.Rules = fmt.Sprintf("%d polkit.addRule calls (libvirt's example: %v)", strings.Count(rules, "polkit.addRule("), withLibvirt)
	b.rules.watch(t)
	b.rules.add(t, b.w.PK, "bench", rules)
	return b, auditd
}

// TestBenchGuard measures the guard's rows alone (one call, define, lists) and prints them
// (go test -tags bench -run '^TestBenchGuard$' ./bench); make bench runs
// them within TestBench.
func TestBenchGuard(t *testing.T) {
	b, _ := newBench(t)
	b.guard()
	b.guardList(b.user)
	b.report.Targets = append(b.report.Targets, b.guardTargets...)
	b.report.Print(os.Stdout)
}

// TestBenchSocket measures the socket path's rows alone, beside their
// limits, and prints them with its targets (go test -tags bench -run
// '^TestBenchSocket$' ./bench); make bench runs them within TestBench.
func TestBenchSocket(t *testing.T) {
	b, auditd := newBench(t)
	_, on := b.socket()
	b.sustained(on, auditd)
	b.report.judge()
	b.report.Print(os.Stdout)
}

// TestBenchCheckMany measures the CheckMany rows alone and prints them
// (go test -tags bench -run '^TestBenchCheckMany$' ./bench); make bench
// runs them within TestBench.
func TestBenchCheckMany(t *testing.T) {
	b, _ := newBench(t)
	b.checkMany(b.activate("on", 1))
	b.report.Print(os.Stdout)
}

// socket measures the raw records' burst, then two daemons (audit off
// and on) from activation to cached and uncached decisions, on behalf
// and about itself, and returns them.
func (b *bench) socket() (off, on *daemontest.Daemon) {
	b.records()
	off, on = b.activate("off", 0), b.activate("on", 1)
	b.cached(off, on)
	b.uncached("audit off", off)
	b.uncached("audit on", on)
	return off, on
}

// cachedRounds is how many turns the cached rows and the raw round trip
// take: each row is measured in that many parts, each after a part of
// the raw round trip, so that the limit and the rows judged by it see
// the machine alike (its speed drifts by a third within minutes).
const cachedRounds = 10

// cached measures one client asking in a row for a cached decision, on
// behalf of the benchmark user's process (audit off and on) and about
// itself (audit on), in turns with the raw round trip of a message the
// size of the on-behalf call, plain and followed by a raw record, and
// reports all five.
func (b *bench) cached(off, on *daemontest.Daemon) {
	msg := checkMessage(b.subj.Subject())
	echo, _ := b.startEcho(msg, false, 1)
	audited, _ := b.startEcho(msg, true, 1)
	cases := []struct {
		name string
		ask  func(int) error
	}{
		{"socket cached, audit off", b.onBehalf(off)},
		{"socket cached, audit on", b.onBehalf(on)},
		{"socket cached self, audit on", b.asSelf(on)},
	}
	var raw, rawAudited calls
	got := make([]calls, len(cases))
	part := cachedCalls / cachedRounds
	for range cachedRounds {
		for i, c := range cases {
			if err := raw.run(part, echo[0]); err != nil {
				b.t.Fatalf("raw round trip: %v", err)
			}
			if err := rawAudited.run(part, audited[0]); err != nil {
				b.t.Fatalf("raw round trip and record: %v", err)
			}
			if err := got[i].run(part, c.ask); err != nil {
				b.t.Fatalf("%s: %v", c.name, err)
			}
		}
	}
	b.report.timing(rawRoundTrip, raw.latency(), "round trips/s")
	b.report.add(rawRoundTrip, "message size", float64(len(msg)), "bytes")
	b.report.timing(rawAuditedTrip, rawAudited.latency(), "round trips/s")
	for i, c := range cases {
		b.report.latency(c.name, got[i].latency())
	}
}

// onBehalf returns a cached on-behalf Check of one object, asked once.
func (b *bench) onBehalf(d *daemontest.Daemon) func(int) error {
	c := d.Dial(b.t)
	obj := domain("bench-cached-"+b.token, 1)
	if err := check(c, b.subj, obj); err != nil {
		b.t.Fatal(err)
	}
	return func(int) error { return check(c, b.subj, obj) }
}

// asSelf returns a cached Check of root about itself (root's own
// decisions are cached like anyone's), asked once.
func (b *bench) asSelf(d *daemontest.Daemon) func(int) error {
	c := d.Dial(b.t)
	obj := domain("bench-self-"+b.token, 3)
	ask := func(int) error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		r, err := c.Check(ctx, accessapi.CheckParams{Object: obj, Permission: "start"})
		if err == nil && !r.Allowed {
			err = fmt.Errorf("denied: %+v", r)
		}
		return err
	}
	if err := ask(0); err != nil {
		b.t.Fatalf("self: %v", err)
	}
	return ask
}

// sustainedEcho measures what answering the sustained run's clients and
// recording every answer costs the machine when nothing else is done:
// as many clients as it has, for as long, each making round trips of
// the on-behalf Check's size to an echo that hands the kernel a raw
// record after each reply, from an idle auditd. The echo sends each
// record alone, where the daemon's writer sends a batch per write, so
// it bounds nothing: it is the simplest server that records each
// answer, beside the daemon.
func (b *bench) sustainedEcho() {
	trips, pid := b.startEcho(checkMessage(b.subj.Subject()), true, sustainConns)
	waitAuditdDone(b.t)
	lostBefore := kernelLost(b.t)
	cpu := startCPU(b.t, append(auditProcs(b.t), self("clients"), cpuProc{"echo", strconv.Itoa(pid)})...)
	rate, ok, failed := sustain(trips, sustainFor)
	if failed > 0 {
		b.t.Fatalf("%s, %d clients: %d round trips failed", rawAuditedTrip, sustainConns, failed)
	}
	// The kernel drops what its backlog cannot hold: a round trip whose
	// record it dropped is not an audited answer.
	if lost := kernelLost(b.t) - lostBefore; lost > 0 {
		b.t.Fatalf("%s, %d clients: the kernel dropped %d records", rawAuditedTrip, sustainConns, lost)
	}
	b.report.add(rawAuditedTrip, sustainedMeasure, rate, "round trips/s")
	cpu.report(b.t, b.report, rawAuditedTrip, "CPU per round trip, "+sustainedMeasure, ok)
}

// activate starts a daemon on a fresh socket and records the time from
// the first connection to the first answer, which includes starting it,
// from an idle auditd: still reading the raw records' burst, it took a
// core from the start (30 ms alone, 74-132 ms beside it).
func (b *bench) activate(name string, level int) *daemontest.Daemon {
	waitAuditdDone(b.t)
	d := b.w.Activate(b.t, b.w.Config(b.t, name+".conf", conf(level)))
	start := time.Now()
	c := d.Dial(b.t)
	if err := check(c, b.subj, domain("bench-activate-"+name, 0)); err != nil {
		b.t.Fatalf("first call, audit %s: %v", name, err)
	}
	b.report.add("activation, audit "+name, "first connection to first answer", ms(time.Since(start)), "ms")
	idle, err := daemontest.RSS(d.PID())
	if err != nil {
		b.t.Fatal(err)
	}
	b.report.add("memory, audit "+name, "resident, idle after the first answer", mib(idle), "MiB")
	return d
}

// uncached measures one client asking in a row about new objects, each
// asked of polkit.
func (b *bench) uncached(mode string, d *daemontest.Daemon) {
	c := d.Dial(b.t)
	prefix := fmt.Sprintf("bench-new-%s-%s", strings.ReplaceAll(mode, " ", ""), b.token)
	uncached, err := loop(uncachedCalls, func(i int) error { return check(c, b.subj, domain(fmt.Sprintf("%s-%d", prefix, i), i)) })
	if err != nil {
		b.t.Fatalf("uncached, %s: %v", mode, err)
	}
	b.report.latency("socket uncached, "+mode, uncached)
}

// direct asks polkit itself, as libvirt's polkit driver does: one
// CheckAuthorization per decision, with libvirt's details.
func (b *bench) direct() {
	auth, err := polkit.Dial(context.Background(), polkit.Options{Address: b.w.Bus.Address})
	if err != nil {
		b.t.Fatal(err)
	}
	defer auth.Close()
	subject := polkit.Subject{PID: uint32(b.subj.PID), StartTime: b.subj.StartTime, UID: b.subj.UID}
	lat, err := loop(directCalls, func(i int) error {
		details := map[string]string{"connect_driver": "QEMU", "domain_name": fmt.Sprintf("bench-direct-%d", i),
			"domain_uuid": fmt.Sprintf("b0000000-0000-4000-8000-%012x", i)}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		r, err := auth.Check(ctx, subject, "org.libvirt.api.domain.start", details)
		if err == nil && !r.Authorized {
			err = fmt.Errorf("not authorized: %+v", r)
		}
		return err
	})
	if err != nil {
		b.t.Fatalf("polkit direct: %v", err)
	}
	b.report.latency("polkit direct", lat)
	b.report.add("polkit direct", "1,000 calls", ms(time.Duration(float64(time.Second)*directCalls/lat.PerSec)), "ms")
}

// sustained runs several clients at once against the audited daemon and
// counts its records three ways: the daemon's writer's counters (sent:
// accepted by the kernel; lost, by cause), the kernel's lost counter,
// and the records that reached auditd's log. Just before, a raw sender
// runs as long, with and without an acknowledgement (its limit), and as
// many clients as the daemon's each make raw round trips to an echo
// that sends a raw record after each reply (sustainedEcho).
func (b *bench) sustained(d *daemontest.Daemon, auditd *testsys.Auditd) {
	for _, ack := range []bool{true, false} {
		waitAuditdDone(b.t)
		cpu := startCPU(b.t, append(auditProcs(b.t), self("sender"))...)
		n, took := b.sender(ack).run(b.t, 0, sustainFor)
		b.report.add(rawRecords(ack), measureRawSustained, float64(n)/took.Seconds(), "records/s")
		cpu.report(b.t, b.report, rawRecords(ack), "CPU per record, "+measureRawSustained, uint64(n))
	}
	b.sustainedEcho()
	clients := make([]*client.Client, sustainConns)
	for i := range clients {
		clients[i] = d.Dial(b.t)
	}
	name := "bench-sustain-" + b.token
	obj := domain(name, 2)
	if err := check(clients[0], b.subj, obj); err != nil {
		b.t.Fatal(err)
	}
	ops := make([]func(int) error, len(clients))
	for i, c := range clients {
		ops[i] = func(int) error { return check(c, b.subj, obj) }
	}
	before := waitAuditIdle(b.t, clients[0])
	lostBefore := kernelLost(b.t)
	cpu := startCPU(b.t, append(auditProcs(b.t), self("clients"), cpuProc{"daemon", strconv.Itoa(d.PID())})...)
	start := time.Now()
	rate, ok, failed := sustain(ops, sustainFor)
	b.report.add(caseSustained, sustainedMeasure, rate, "decisions/s")
	b.report.add(caseSustained, "failed calls", float64(failed), "calls")
	after := auditCounters(b.t, clients[0], before.Sent+before.Lost+ok)
	b.report.add(caseSustained, measureSent, float64(after.Sent-before.Sent), "records")
	b.report.add(caseSustained, measureDaemonLost, float64(after.Lost-before.Lost), "records")
	cpu.report(b.t, b.report, caseSustained, "CPU per decision", ok)
	found := auditd.CountLines(`vm="`+name+`"`, ok+1)
	b.report.add(caseSustained, measureMissing, float64(ok+1-min(found, ok+1)), "records")
	b.report.add(caseSustained, measureRotated, boolRow(rotatedSince(auditd, start)), "yes=1")
	b.report.add(caseSustained, "kernel lost counter rise", float64(kernelLost(b.t)-lostBefore), "records")
}
