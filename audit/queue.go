// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// job is a level Required record, or level Auto records, on their way
// to the kernel.
type job struct {
	// text is the level Required record, formatted by its caller.
	text []byte
	// recs are level Auto records still to be formatted (text is
	// empty): the writer formats them, off their caller's path, in
	// order. A list's records come as one job per batch's worth, so
	// that its caller hands them over in one channel send, not one per
	// record.
	recs []Record
	ctx  context.Context
	// done is told the outcome of a level Required record, as the i-th
	// of its caller's; it has room for every record sent to it.
	done chan<- outcome
	i    int
}

// records returns how many records j holds.
func (j job) records() int {
	if j.recs != nil {
		return len(j.recs)
	}
	return 1
}

func (w *Writer) enqueue(r Record) { w.enqueueAll([]Record{r}) }

// enqueueAll queues level Auto records, in order, in jobs of the room
// the queue has; when it has none, it waits for room (waitForRoom), and
// the records still waiting when that fails are lost, and counted.
func (w *Writer) enqueueAll(recs []Record) {
	if w.down != nil {
		w.loseN(w.down, len(recs))
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.loseN(&Error{Closed, errClosed}, len(recs))
		return
	}
	for len(recs) > 0 {
		n := w.takeRoom(min(len(recs), w.cfg.QueueSize))
		if n == 0 {
			n = min(len(recs), w.cfg.QueueSize)
			if e := w.waitForRoom(n); e != nil {
				w.loseN(e, len(recs))
				return
			}
		}
		w.queued.Add(int64(n))
		select {
		case w.jobs <- job{recs: recs[:n]}:
		default: // not expected: every job holds a record of the room taken
			w.queued.Add(-int64(n))
			w.room.Release(int64(n))
			w.loseN(&Error{QueueFull, errQueueFull}, n)
		}
		recs = recs[n:]
	}
}

// takeRoom takes room for up to n records, as much as the queue has
// while no one waits for room, and returns how much it took.
func (w *Writer) takeRoom(n int) int {
	if w.room.TryAcquire(int64(n)) {
		return n
	}
	k := 0
	for k < n && w.room.TryAcquire(1) {
		k++
	}
	return k
}

// stalled is how long the writer may go without taking records or
// handing a batch to the kernel before level Auto records stop waiting
// for room in a full queue.
const stalled = 200 * time.Millisecond

// waitForRoom waits, for n level Auto records that found the queue full,
// until it has room for them, as long as the writer is sending, and in
// turn with the others waiting (one Acquire, first come first served): decisions then come faster than the
// kernel and auditd take their records, and waiting holds them to that
// pace (as libvirtd's threads wait in the kernel when its audit backlog
// is full) rather than losing records. The caller's own context does not
// end the wait: its decision was made, and its record stays. When the
// writer has taken and sent nothing for stalled (the kernel holds it:
// its backlog is full and not moving, e.g. auditd stopped reading; or
// it gets no CPU), it returns the error the records are lost to at once:
// decisions are not held up by a stuck audit system.
func (w *Writer) waitForRoom(n int) *Error {
	wait := w.untilStalled()
	if wait <= 0 {
		return &Error{QueueFull, errQueueFull}
	}
	// One wait, so that its place in the line holds: a watchdog ends it
	// once the writer has stalled, and re-arms while it has not.
	ctx, cancel := context.WithCancelCause(w.closing)
	defer cancel(nil)
	var watchdog *time.Timer
	watchdog = time.AfterFunc(time.Hour, func() {
		if ctx.Err() != nil {
			return
		}
		if wait := w.untilStalled(); wait > 0 {
			watchdog.Reset(wait)
			return
		}
		cancel(errQueueFull)
	})
	watchdog.Reset(wait)
	defer watchdog.Stop()
	switch err := w.room.Acquire(ctx, int64(n)); {
	case err == nil:
		return nil
	case errors.Is(context.Cause(ctx), errQueueFull):
		return &Error{QueueFull, errQueueFull}
	}
	return &Error{Closed, errClosed}
}

// untilStalled is how long the writer may still go without taking or
// sending records before it counts as stalled.
func (w *Writer) untilStalled() time.Duration {
	return stalled - time.Since(time.Unix(0, w.sending.Load()))
}

// taken notes that the writer took j from the queue; at level Auto its
// records' room is free again.
func (w *Writer) taken(j job) {
	n := int64(j.records())
	w.queued.Add(-n)
	if j.recs != nil {
		w.sending.Store(time.Now().UnixNano()) // at work: not stalled
		w.room.Release(n)
	}
}

// submit queues a level Required job, waiting for room until ctx is done.
func (w *Writer) submit(ctx context.Context, j job) *Error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return &Error{Closed, errClosed}
	}
	if err := ctx.Err(); err != nil {
		return &Error{Timeout, fmt.Errorf("the caller stopped waiting: %w", err)}
	}
	// Counted before it is queued, so that the writer's count of it
	// taken never comes first.
	w.queued.Add(1)
	select {
	case w.jobs <- j:
		return nil
	case <-ctx.Done():
		w.queued.Add(-1)
		return &Error{Timeout, fmt.Errorf("waiting for room in the audit queue: %w", ctx.Err())}
	}
}
