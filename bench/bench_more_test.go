// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// checkMany filters lists of 1,000 and 10,000 domains for one user, cold
// (every object asked of polkit) and again from the cache, with audit on:
// every object's decision is a record. The cold pass is timed once; if
// some of its objects were not allowed (a polkitd stall outlasting
// polkit_timeout), it is asked again untimed, and the retries are a row,
// so that the cached pass measures the cache. The cached pass must allow
// every object from the cache: its row counts those that were not, and
// another how often the cache was emptied meanwhile (polkit rules
// changed by other processes on the machine empty it).
func (b *bench) checkMany(d *daemontest.Daemon) {
	c := d.Dial(b.t)
	for _, n := range []int{1000, listObjects} {
		objs := objects(fmt.Sprintf("bench-list%d-%s", n, b.token), n)
		cold := fmt.Sprintf("CheckMany %d, cold, audit on", n)
		before := invalidations(b.t, c)
		start := time.Now()
		_, err := checkMany(c, b.subj, objs)
		b.report.add(cold, "one call", ms(time.Since(start)), "ms")
		retries := 0
		if err != nil {
			b.t.Logf("%s: %v; asking again", cold, err)
			c, retries, err = checkManyRetrying(d.Dial(b.t), redial(b.t, d), b.subj, objs, 3)
			retries++
		}
		b.report.add(cold, "calls asked again", float64(retries), "calls")
		if err != nil {
			b.t.Fatalf("%s: %v", cold, err)
		}
		b.warmCheckMany(c, n, objs, before)
	}
}

// warmCalls is how many cached CheckMany calls are timed.
const warmCalls = 5

// warmCheckMany times warmCalls cached CheckMany calls of objs, each
// started once the daemon has handed every record before it to the
// kernel and auditd has read them all, and reports their median and
// fastest, with the records lost and the results not from the cache of
// all of them. For listObjects objects, each call comes after its limit,
// as many raw records sent in a row by each sender from the same start.
func (b *bench) warmCheckMany(c *client.Client, n int, objs []accessapi.Object, before uint64) {
	warm := fmt.Sprintf("CheckMany %d, cached, audit on", n)
	var took []time.Duration
	raw := map[bool][]time.Duration{}
	var first accessapi.AuditStats
	uncached := 0
	for i := range warmCalls {
		if n == listObjects {
			for _, ack := range []bool{true, false} {
				_, d := b.sender(ack).run(b.t, n, 0)
				raw[ack] = append(raw[ack], d)
			}
		}
		a := waitAuditIdle(b.t, c)
		if i == 0 {
			first = a
		}
		start := time.Now()
		hits, err := checkMany(c, b.subj, objs)
		took = append(took, time.Since(start))
		if err != nil {
			b.t.Errorf("%s: %v", warm, err)
		}
		uncached += n - hits
	}
	after := auditCounters(b.t, c, first.Sent+first.Lost+uint64(warmCalls*n))
	for _, ack := range []bool{true, false} {
		if ds := raw[ack]; len(ds) > 0 {
			b.report.add(rawRecords(ack), measureListRecords, ms(median(ds)), "ms")
		}
	}
	b.report.add(warm, measureListMedian, ms(median(took)), "ms")
	b.report.add(warm, "fastest of 5", ms(slices.Min(took)), "ms")
	b.report.add(warm, measureDaemonLost, float64(after.Lost-first.Lost), "records")
	b.report.add(warm, "results not from the cache", float64(uncached), "results")
	b.report.add(warm, "cache invalidations since the cold pass began", float64(invalidations(b.t, c)-before), "invalidations")
}

// median returns the median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// waitAuditIdle waits, for at most 30 s, until the daemon's audit queue
// is empty, then until auditd is done with every record (waitAuditdDone),
// and returns the daemon's audit counters.
func waitAuditIdle(t *testing.T, c *client.Client) accessapi.AuditStats {
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a := stats(t, c).Audit
		if a == nil {
			t.Fatal("Stats: the daemon reports no audit counters")
		}
		if a.Queued == 0 {
			waitAuditdDone(t)
			return *a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon still has %d audit records queued after 30 s", a.Queued)
		}
	}
}

// redial returns a func dialling d anew.
func redial(t *testing.T, d *daemontest.Daemon) func() *client.Client {
	return func() *client.Client { return d.Dial(t) }
}

// memory reads the daemon's resident memory after filling the cache with
// fillObjects decisions about distinct objects (idle: see activate).
func (b *bench) memory(d *daemontest.Daemon) {
	c := d.Dial(b.t)
	// polkitd evaluates the rules for every object; a chunk it does not
	// answer in time (polkit_timeout) is asked again.
	for i := 0; i < fillObjects; i += 5000 {
		objs := objects(fmt.Sprintf("bench-fill%d-%s", i, b.token), 5000)
		var err error
		if c, _, err = checkManyRetrying(c, redial(b.t, d), b.subj, objs, 4); err != nil {
			b.t.Fatalf("fill: %v", err)
		}
	}
	full, err := daemontest.RSS(d.PID())
	if err != nil {
		b.t.Fatal(err)
	}
	b.report.add("memory", "resident, 100,000 cached decisions", mib(full), "MiB")
}

// kernelLost is the kernel's audit lost counter (auditctl -s).
func kernelLost(t *testing.T) uint64 {
	st, err := testsys.AuditStatus()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseUint(st["lost"], 10, 64)
	return n
}

// invalidations is how often the daemon's cache was emptied so far, for
// any reason (a polkit rules change, a reload, a flush).
func invalidations(t *testing.T, c *client.Client) uint64 {
	var n uint64
	for _, k := range stats(t, c).Invalidations {
		n += k
	}
	return n
}

// auditCounters returns the daemon's audit writer's counters once it has
// sent or lost at least settled records (0: at once), or after 30 s.
func auditCounters(t *testing.T, c *client.Client, settled uint64) accessapi.AuditStats {
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		a := stats(t, c).Audit
		if a == nil {
			t.Fatal("Stats: the daemon reports no audit counters")
		}
		if a.Sent+a.Lost >= settled || time.Now().After(deadline) {
			return *a
		}
	}
}

func stats(t *testing.T, c *client.Client) accessapi.Stats {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// rotatedSince reports whether auditd's oldest kept log starts after t:
// then records written since t may have been rotated away (5 logs of 8 MB
// by default hold about 60,000 of the daemon's records), and a count of
// them in the log is no proof of loss. A log StartAuditdIn moved is never
// rotated.
func rotatedSince(a *testsys.Auditd, t time.Time) bool {
	oldest := time.Now()
	a.ScanLogs(func(sc *bufio.Scanner) {
		if !sc.Scan() {
			return
		}
		if ts, ok := recordTime(sc.Text()); ok && ts.Before(oldest) {
			oldest = ts
		}
	})
	return !oldest.Before(t)
}

// recordTime reads the time of an audit log line, msg=audit(SECONDS.MS:N).
func recordTime(line string) (time.Time, bool) {
	_, rest, ok := strings.Cut(line, "msg=audit(")
	if !ok {
		return time.Time{}, false
	}
	secs, _, ok := strings.Cut(rest, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if !ok || err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func boolRow(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
