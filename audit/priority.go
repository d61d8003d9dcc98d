// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"fmt"
	"runtime"
	"time"

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
// process's priority, so that a backlog is not left to a thread that may
// get little CPU. Lowering a thread's priority needs no privilege;
// raising it back would (CAP_SYS_NICE or RLIMIT_NICE), which is why the
// low thread stays low and the work moves instead. At level Required,
// where callers wait for the kernel, every batch is sent at the
// process's priority.
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

// startLowThread starts the low thread of a level Auto writer, or
// returns nil, logging why at Info, when there is none: at level
// Required, and when the thread's priority cannot be lowered (a system
// call filter refuses setpriority) or would not be (the process already
// runs at lowNice or lower).
func (w *Writer) startLowThread() *lowThread {
	if w.cfg.Level != Auto {
		return nil
	}
	t := &lowThread{work: make(chan func()), done: make(chan struct{})}
	started := make(chan error)
	go t.loop(started)
	if err := <-started; err != nil {
		w.log.Info("audit: records are sent at the process's priority", "reason", err)
		return nil
	}
	return t
}

func (t *lowThread) loop(started chan<- error) {
	tid, ok := lockOffMain()
	if !ok {
		started <- errors.New("no thread but the main one to lower")
		return
	}
	// getpriority's system call gives 20 - nice.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	switch {
	case err != nil:
	case 20-prio >= lowNice:
		err = fmt.Errorf("the process already runs at nice %d", 20-prio)
	default:
		err = unix.Setpriority(unix.PRIO_PROCESS, tid, lowNice)
	}
	if err != nil {
		started <- fmt.Errorf("thread priority: %w", err)
		return
	}
	started <- nil
	for f := range t.work {
		f()
		t.done <- struct{}{}
	}
}

// lockOffMain locks the calling goroutine to its thread for good, so
// that the thread ends with the goroutine, and its priority with it,
// rather than going back to the runtime's pool; and returns the thread's
// id. It avoids the main thread, which the runtime parks for good
// instead of ending: it waits to be scheduled elsewhere, a few times,
// then reports false.
func lockOffMain() (tid int, ok bool) {
	for try := 0; try < 10; try++ {
		runtime.LockOSThread()
		if tid := unix.Gettid(); tid != unix.Getpid() {
			return tid, true
		}
		runtime.UnlockOSThread()
		time.Sleep(time.Millisecond)
	}
	return 0, false
}

// do runs f on the thread and returns when it is done.
func (t *lowThread) do(f func()) {
	t.work <- f
	<-t.done
}

// stop ends the thread.
func (t *lowThread) stop() { close(t.work) }
