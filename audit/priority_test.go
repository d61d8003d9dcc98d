// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// loweredThreads counts this process's threads running at lowNice, below
// the process's own priority (a process run at nice 10 has them all at
// lowNice, none lowered).
func loweredThreads(t *testing.T) int {
	t.Helper()
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	if 20-prio >= lowNice {
		return 0
	}
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		// Field 19 is the nice value; the command before it may hold
		// spaces, so count from the closing parenthesis.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if nice, err := strconv.Atoi(fields[16]); err == nil && nice == lowNice {
			n++
		}
	}
	return n
}

// TestWriterYieldsWhileItKeepsUp: at level Auto the writer sends its
// batches from a thread at lowNice while its queue is short, and from one
// at the process's priority while a backlog stands; at level Required it
// keeps the process's priority and has no low thread.
func TestWriterYieldsWhileItKeepsUp(t *testing.T) {
	// Writers of earlier tests end their low threads as they close.
	waitFor(t, "no thread at the low priority", func() bool { return loweredThreads(t) == 0 })
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err != nil || 20-prio >= lowNice {
		// Run niced (as nice -n 19 go test): no thread is lowered, as
		// none would gain by it.
		w := openFake(t, Config{Level: Auto}, newFake())
		w.Write(context.Background(), record(0))
		waitFor(t, "the record to be sent", func() bool { return w.Stats().Sent == 1 })
		if n := loweredThreads(t); n != 0 {
			t.Fatalf("%d threads at nice %d in a process at nice %d", n, lowNice, 20-prio)
		}
		t.Logf("the process runs at nice %d: no low thread, as checked", 20-prio)
		return
	}

	required := openFake(t, Config{Level: Required}, newFake())
	if err := required.Write(context.Background(), record(0)); err != nil {
		t.Fatal(err)
	}
	if n := loweredThreads(t); n != 0 {
		t.Fatalf("a level Required writer lowered %d threads", n)
	}

	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	w := openFake(t, Config{Level: Auto, QueueSize: 64}, k)
	waitFor(t, "the level Auto writer's low thread", func() bool { return loweredThreads(t) == 1 })
	w.Write(context.Background(), record(0))
	<-k.s.entered // held "in the kernel" with 63 records queued behind
	for i := 1; i <= 63; i++ {
		w.Write(context.Background(), record(i))
	}
	close(k.s.blocked)
	waitFor(t, "every record to be sent", func() bool { return w.Stats().Sent == 64 })
	if low, raised := k.s.low.Load(), k.s.raised.Load(); low == 0 || raised == 0 {
		t.Errorf("%d sends at nice %d, %d at the process's priority; want the idle writer's low and the backlog's not", low, lowNice, raised)
	}
	w.Close()
	waitFor(t, "the low thread to end with the writer", func() bool { return loweredThreads(t) == 0 })
}
