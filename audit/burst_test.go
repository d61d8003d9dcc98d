// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// TestKernelBurstArrivesComplete writes, at level Auto, far more records
// than the queue holds, from 4 goroutines at 50,000/s, above what a writer
// waiting for each record's ack in turn managed on this kind of machine
// (about 38,000/s unloaded, 14,000/s under make bench's load), and checks
// that auditd logged every one and none was counted lost.
func TestKernelBurstArrivesComplete(t *testing.T) {
	const (
		writers = 4
		each    = 7000
	)
	rate := 50000 // records per second, all writers together
	if raceDetector {
		rate = 10000 // still a burst beyond the queue, at the rate -race allows
	}
	a := testsys.StartAuditd(t)
	w := openKernel(t, Config{Level: Auto})
	if each*writers <= w.Stats().QueueCap {
		t.Fatalf("the burst (%d) must exceed the queue (%d)", each*writers, w.Stats().QueueCap)
	}
	s := newSubject(t, "frank")
	vm := uniqueName(t, "burst")
	rec := s.domainRecord(true, "start", vm, newUUID(t))

	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paced(start, each, rate/writers, func() { w.Write(context.Background(), rec) })
		}()
	}
	wg.Wait()
	took := time.Since(start)
	waitWithin(t, 30*time.Second, "the queue to drain", func() bool {
		st := w.Stats()
		return st.Queued == 0 && st.Sent+st.Lost.Total() == writers*each
	})
	st := w.Stats()
	t.Logf("%d records in %v (%.0f/s offered): %+v", writers*each, took, writers*each/took.Seconds(), st)
	if st.Sent != writers*each || st.Lost.Total() != 0 {
		t.Errorf("stats %+v, want all %d sent and none lost", st, writers*each)
	}
	if n := logged(t, a, vm, writers*each); n != writers*each {
		t.Errorf("auditd logged %d of %d records (kernel lost counter rose by %d)", n, writers*each, st.KernelLost)
	}
}

// paced calls f n times at about perSecond calls per second from start.
func paced(start time.Time, n, perSecond int, f func()) {
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))
			time.Sleep(time.Until(due))
		}
		f()
	}
}
