// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// TestKernelFullBacklog pauses auditd until the kernel holds the writer in
// sendto (the backlog over its limit), and checks that level Auto still
// answers at once, counting what it cannot queue, that level Required
// fails within its timeout, and that every record is accounted for.
func TestKernelFullBacklog(t *testing.T) {
	a := testsys.StartAuditd(t)
	// 1000 jiffies: 4 s per held send at HZ=250 (60 s by default).
	a.SetBacklog(t, 64, 1000)
	s := newSubject(t, "erin")
	vm, uuid := uniqueName(t, "full"), newUUID(t)
	rec := s.domainRecord(true, "start", vm, uuid)

	auto := openKernel(t, Config{Level: Auto, QueueSize: 100, StatusInterval: 50 * time.Millisecond})
	required := openKernel(t, Config{Level: Required, Timeout: 300 * time.Millisecond})
	a.Pause(t)

	writes := 0
	write := func() { auto.Write(context.Background(), rec); writes++ }
	deadline := time.Now().Add(30 * time.Second)
	for !held(auto) {
		if time.Now().After(deadline) {
			t.Fatalf("the kernel never held the writer; stats %+v", auto.Stats())
		}
		write()
		time.Sleep(100 * time.Microsecond)
	}
	before := auto.Stats()
	start := time.Now()
	for i := 0; i < 1000; i++ {
		write()
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("1000 level-1 writes took %v while the kernel held the writer", d)
	}
	if got := auto.Stats().Lost[QueueFull] - before.Lost[QueueFull]; got != 1000 {
		t.Errorf("%d of 1000 writes counted as lost to a full queue", got)
	}

	start = time.Now()
	err := required.Write(context.Background(), rec)
	var aerr *Error
	if !errors.As(err, &aerr) || aerr.Cause != Timeout {
		t.Errorf("level-2 write with the kernel holding writers = %v, want a Timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("level-2 write took %v to fail", d)
	}

	a.Resume(t)
	// A send the kernel held may wait out the whole backlog_wait_time
	// (1000 jiffies: 4 s at HZ=250, 10 s at HZ=100) before the queue moves.
	// The writer holds a batch of records besides the queue: wait for
	// every record's outcome.
	waitWithin(t, 30*time.Second, "the queue to drain", func() bool {
		st := auto.Stats()
		return st.Queued == 0 && int(st.Sent+st.Lost.Total()) == writes
	})
	st := auto.Stats()
	t.Logf("level 1 after %d writes: %+v", writes, st)
	if int(st.Sent+st.Lost.Total()) != writes {
		t.Errorf("%d sent + %d lost != %d written: records unaccounted for", st.Sent, st.Lost.Total(), writes)
	}
	if st.Lost[QueueFull] == 0 || st.Lost.Total() != st.Lost[QueueFull] {
		t.Errorf("losses %+v, want all of them to a full queue", st.Lost)
	}
}

// held reports whether w's sender has been stuck for a while: the queue is
// full and nothing was sent for 200 ms.
func held(w *Writer) bool {
	st := w.Stats()
	if st.Queued < st.QueueCap {
		return false
	}
	time.Sleep(200 * time.Millisecond)
	now := w.Stats()
	return now.Sent == st.Sent && now.Queued == now.QueueCap
}

// BenchmarkWrite measures the records per second written through the real
// kernel to auditd, and checks that auditd logged every one. At level Auto
// the loop keeps the queue below half full, as decisions arriving at the
// sustained rate would; at level Required each Write waits for the kernel.
// Run it with a fixed count, e.g. -bench Write -benchtime 20000x: auditd
// rotates its logs (5 x 8 MB by default), and records rotated away would
// count as missing.
func BenchmarkWrite(b *testing.B) {
	a := testsys.StartAuditd(b)
	for _, level := range []Level{Auto, Required} {
		b.Run(level.String(), func(b *testing.B) {
			w, err := Open(Config{Level: level})
			if err != nil {
				b.Fatal(err)
			}
			r := webRecord()
			r.VMName = fmt.Sprintf("bench-%s-%d", level, time.Now().UnixNano())
			b.ResetTimer()
			start := time.Now()
			if level == Auto {
				writeSustained(b, w, r)
			} else {
				writeParallel(b, w, r)
			}
			w.Close() // writes what is queued
			elapsed := time.Since(start)
			b.StopTimer()
			st := w.Stats()
			b.ReportMetric(float64(st.Sent)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(st.Lost.Total()), "lost")
			b.ReportMetric(float64(st.KernelLost), "kernel-lost")
			b.ReportMetric(float64(int(st.Sent)-logged(b, a, r.VMName, int(st.Sent))), "missing")
		})
	}
}

func writeSustained(b *testing.B, w *Writer, r Record) {
	half := w.Stats().QueueCap / 2
	for i := 0; i < b.N; i++ {
		w.Write(context.Background(), r)
		for i%256 == 0 && w.Stats().Queued > half {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func writeParallel(b *testing.B, w *Writer, r Record) {
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write(context.Background(), r); err != nil {
				b.Errorf("Write: %v", err)
				return
			}
		}
	})
}

// logged counts the records of vm in the audit log, waiting up to 30 s for
// auditd to write want of them.
func logged(b testing.TB, a *testsys.Auditd, vm string, want int) int {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := strings.Count(a.Search(b, "--raw", "-m", "USER_AVC", "-w", "--vm-name", vm), "type=USER_AVC ")
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}
