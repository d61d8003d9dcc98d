// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"fmt"
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

// enqueueAll queues level Auto records as one job: those the queue has
// room for, in order; the others are lost, and counted.
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
	n := w.reserve(len(recs))
	if n > 0 {
		select {
		case w.jobs <- job{recs: recs[:n]}:
		default: // not expected: every job holds a record of the room reserved
			w.queued.Add(-int64(n))
			n = 0
		}
	}
	if lost := len(recs) - n; lost > 0 {
		w.loseN(&Error{QueueFull, errQueueFull}, lost)
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

// taken notes that the writer took j from the queue.
func (w *Writer) taken(j job) { w.queued.Add(-int64(j.records())) }

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
