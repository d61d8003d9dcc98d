// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
)

// TestRequiredCallersShareAWrite holds the kernel while level Required
// callers queue up, then checks that they went to the kernel in one write
// and that each got its own record's outcome.
func TestRequiredCallersShareAWrite(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	k.s.refuse = `vm="vm5"`
	w := openFake(t, Config{Level: Required}, k)

	first := make(chan error, 1)
	go func() { first <- w.Write(context.Background(), record(0)) }()
	<-k.s.entered // record 0 is held "in the kernel"

	const callers = 10
	errs := make([]error, callers+1)
	var wg sync.WaitGroup
	for i := 1; i <= callers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w.Write(context.Background(), record(i)) }()
	}
	waitFor(t, "the callers to queue", func() bool { return w.Stats().Queued == callers })
	close(k.s.blocked)
	wg.Wait()
	errs[0] = <-first

	for i, err := range errs {
		var aerr *Error
		switch {
		case i == 5 && (!errors.As(err, &aerr) || aerr.Cause != Refused):
			t.Errorf("caller 5 (refused by the kernel) got %v, want a Refused *Error", err)
		case i != 5 && err != nil:
			t.Errorf("caller %d got %v, want its record accepted", i, err)
		}
	}
	k.s.mu.Lock()
	batches := fmt.Sprint(k.s.batches)
	k.s.mu.Unlock()
	if batches != fmt.Sprint([]int{1, callers}) {
		t.Errorf("writes of %s records, want [1 %d]", batches, callers)
	}
	if st := w.Stats(); st.Sent != callers || st.Lost.Total() != 1 || st.Lost[Refused] != 1 {
		t.Errorf("stats %+v, want %d sent and 1 refused", st, callers)
	}
}

// TestBatchesAreBounded queues more records than a batch takes while the
// kernel is held: every record is sent once, in order, in batches of at
// most maxBatch.
func TestBatchesAreBounded(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	w := openFake(t, Config{Level: Auto}, k)
	const n = 3*maxBatch + 7
	w.Write(context.Background(), record(0))
	<-k.s.entered
	for i := 1; i < n; i++ {
		w.Write(context.Background(), record(i))
	}
	close(k.s.blocked)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := k.s.sent()
	if len(got) != n {
		t.Fatalf("%d records sent, want %d", len(got), n)
	}
	for i, text := range got {
		if text != Format(record(i)) {
			t.Fatalf("record %d out of order: %s", i, text)
		}
	}
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	for _, b := range k.s.batches {
		if b < 1 || b > maxBatch {
			t.Errorf("a write of %d records (bound %d): %v", b, maxBatch, k.s.batches)
		}
	}
	if len(k.s.batches) < n/maxBatch {
		t.Errorf("%d writes for %d records: %v", len(k.s.batches), n, k.s.batches)
	}
}

// TestBatchSendFailsEveryRecord checks that a failed write is counted once
// per record it carried.
func TestBatchSendFailsEveryRecord(t *testing.T) {
	k := newFake()
	k.s.err = fmt.Errorf("send audit record: %w", syscall.ENOBUFS)
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	w := openFake(t, Config{Level: Auto}, k)
	for i := 0; i < 20; i++ {
		w.Write(context.Background(), record(i))
	}
	close(k.s.blocked)
	w.Close()
	if st := w.Stats(); st.Sent != 0 || st.Lost[Netlink] != 20 || st.Lost.Total() != 20 {
		t.Errorf("stats %+v, want 20 lost to netlink", st)
	}
}
