// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
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
	for waited := false; len(recs) > 0; {
		n := w.reserve(len(recs))
		if n == 0 {
			if e := w.waitForRoom(); e != nil {
				w.loseN(e, len(recs))
				return
			}
			waited = true
			continue
		}
		if waited {
			w.roomLeft() // other writers may be waiting too
		}
		select {
		case w.jobs <- job{recs: recs[:n]}:
		default: // not expected: every job holds a record of the room reserved
			w.queued.Add(-int64(n))
			w.loseN(&Error{QueueFull, errQueueFull}, n)
		}
		recs = recs[n:]
	}
}

// stalled is how long the writer may go without taking records or
// handing a batch to the kernel before level Auto records stop waiting
// for room in a full queue.
const stalled = 200 * time.Millisecond

// waitForRoom waits, for level Auto records that found the queue full,
// until the writer takes records from it, as long as the writer is
// sending: decisions then come faster than the kernel and auditd take
// their records, and waiting holds them to that pace (as libvirtd's
// threads wait in the kernel when its audit backlog is full) rather than
// losing records. When the writer has taken and sent nothing for
// stalled (the kernel holds it: its backlog is full and not moving, e.g.
// auditd stopped reading), it returns the error the records are lost to at
// once: decisions are not held up by a stuck audit system. Nil means
// there may be room now.
func (w *Writer) waitForRoom() *Error {
	for {
		wait := stalled - time.Since(time.Unix(0, w.sending.Load()))
		if wait <= 0 {
			return &Error{QueueFull, errQueueFull}
		}
		t := time.NewTimer(wait)
		select {
		case <-w.room:
			t.Stop()
			return nil
		case <-w.closing:
			t.Stop()
			return &Error{Closed, errClosed}
		case <-t.C: // see whether the writer sent meanwhile
		}
	}
}

// reserve takes room in the queue for up to n records and returns how
// many it took.
func (w *Writer) reserve(n int) int {
	for {
		q := w.queued.Load()
		k := min(int64(n), int64(w.cfg.QueueSize)-q)
		if k <= 0 {
			return 0
		}
		if w.queued.CompareAndSwap(q, q+k) {
			return int(k)
		}
	}
}

// taken notes that the writer took j from the queue, and tells a level
// Auto writer waiting for room.
func (w *Writer) taken(j job) {
	w.queued.Add(-int64(j.records()))
	w.roomLeft()
}

// roomLeft tells one level Auto writer waiting for room, if any, that
// there is some; that writer, once it has taken its share, calls it
// again for the next.
func (w *Writer) roomLeft() {
	if w.queued.Load() < int64(w.cfg.QueueSize) {
		select {
		case w.room <- struct{}{}:
		default:
		}
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
