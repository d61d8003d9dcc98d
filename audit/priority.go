// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// The writer yields the CPU to the decisions it records. At level Auto no
// caller waits for a record, yet formatting a batch and handing it to the
// kernel takes the core a client's next call would be answered on: on a
// host with few cores that shows in every decision's latency. So at level
// Auto the writer has its batches formatted and sent on a thread of its
// own that runs at lowNice while less than half its queue waits (so that
// the records of a large CheckMany do not take the core from the
// decisions still being made); past that it sends them itself, at the
// process's priority, so that it never falls so far behind that decisions
// wait for room or records are lost. Lowering a thread's priority needs
// no privilege; raising it back would (CAP_SYS_NICE or RLIMIT_NICE),
// which is why the low thread stays low and the work moves instead. At
// level Required, where callers wait for the kernel, every batch is sent
// at the process's priority.
const (
	lowNice = 10
	// catchUpShare is the share of the queue (1/catchUpShare) from which
	// the writer sends batches itself.
	catchUpShare = 2
)

// lowThread runs work on a thread of its own, at lowNice.
type lowThread struct {
	work chan func()
	done chan struct{}
}

// startLowThread starts the thread, or returns nil when its priority
// cannot be lowered (a system call filter refuses setpriority) or would
// not be (the process already runs at lowNice or lower).
func startLowThread() *lowThread {
	t := &lowThread{work: make(chan func()), done: make(chan struct{})}
	started := make(chan bool)
	go t.loop(started)
	if !<-started {
		return nil
	}
	return t
}

func (t *lowThread) loop(started chan<- bool) {
	// Never unlocked: the thread ends with this goroutine, and its
	// priority with it, rather than going back to the runtime's pool.
	runtime.LockOSThread()
	tid := unix.Gettid()
	if tid == unix.Getpid() {
		// The main thread does not end with its goroutine (the runtime
		// parks it for good, here at lowNice): go on in a new goroutine,
		// on another thread (or try again).
		runtime.UnlockOSThread()
		go t.loop(started)
		return
	}
	// getpriority's system call gives 20 - nice.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil || 20-prio >= lowNice || unix.Setpriority(unix.PRIO_PROCESS, tid, lowNice) != nil {
		started <- false
		return
	}
	started <- true
	for f := range t.work {
		f()
		t.done <- struct{}{}
	}
}

// do runs f on the thread and returns when it is done.
func (t *lowThread) do(f func()) {
	t.work <- f
	<-t.done
}

// stop ends the thread.
func (t *lowThread) stop() { close(t.work) }
