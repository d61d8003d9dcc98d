// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// WriteMany records many decisions, in order, as Write records each: at
// level Auto each is queued, or counted as lost, and none waited for. At
// level Required all are queued, then waited for together, for at most
// Config.Timeout in all or until ctx's deadline, so that a list of
// decisions waits for the kernel once rather than once per record.
//
// It returns nil when every record was written (always, below level
// Required), else one error per record: nil for those the kernel
// accepted, an *Error for each of the others, whose decisions the caller
// must deny. At level Auto, as with Write, the records are formatted
// after WriteMany returns: what their Details slices hold must not
// change.
func (w *Writer) WriteMany(ctx context.Context, recs iter.Seq[Record]) []error {
	switch w.cfg.Level {
	case Off:
		for r := range recs {
			w.Write(ctx, r)
		}
		return nil
	case Auto:
		w.enqueueMany(recs)
		return nil
	}
	errs := w.await(ctx, w.formatAll(recs))
	for _, err := range errs {
		if err != nil {
			return errs
		}
	}
	return nil
}

// formatAll returns the texts of recs, formatted into shared buffers of
// textsChunk bytes: a list costs an allocation per chunk, not per
// record, and no buffer is copied as it grows.
func (w *Writer) formatAll(recs iter.Seq[Record]) [][]byte {
	var texts [][]byte
	var buf []byte
	var m memo
	for r := range recs {
		if w.cfg.Log {
			w.logDecision(r)
		}
		if cap(buf)-len(buf) < MaxText {
			buf = make([]byte, 0, textsChunk)
		}
		start := len(buf)
		buf = m.append(buf, r)
		texts = append(texts, buf[start:len(buf):len(buf)])
	}
	return texts
}

// textsChunk is the size of formatAll's buffers: room for about 150
// typical records.
const textsChunk = 64 << 10

// enqueueMany queues level Auto records a batch's worth at a time: one
// job, and one allocation, per maxBatch records rather than per record.
func (w *Writer) enqueueMany(recs iter.Seq[Record]) {
	var chunk []Record
	for r := range recs {
		if w.cfg.Log {
			w.logDecision(r)
		}
		if chunk == nil {
			chunk = make([]Record, 0, maxBatch)
		}
		chunk = append(chunk, r)
		if len(chunk) == maxBatch {
			w.enqueueAll(chunk)
			chunk = nil // the queued job holds it
		}
	}
	if len(chunk) > 0 {
		w.enqueueAll(chunk)
	}
}

// await queues the texts as level Required records and waits for the
// kernel to take each, for at most Config.Timeout or until ctx's
// deadline. It returns each record's outcome: nil, or an *Error.
func (w *Writer) await(ctx context.Context, texts [][]byte) []error {
	ctx, cancel := waitContext(ctx, w.cfg.Timeout)
	defer cancel()
	errs := make([]error, len(texts))
	done := make(chan outcome, len(texts))
	queued := 0
	for i, text := range texts {
		if e := w.submit(ctx, job{text: text, ctx: ctx, done: done, i: i}); e != nil {
			for k := i; k < len(texts); k++ {
				w.lose(e)
				errs[k] = e
			}
			break
		}
		queued++
	}
	answered := make([]bool, queued)
	for range queued {
		select {
		case o := <-done:
			answered[o.i] = true
			if o.err != nil {
				errs[o.i] = o.err
			}
		case <-ctx.Done():
			// The sender counts the outcome of each record still queued:
			// Timeout if it skips it, Sent if the kernel took it meanwhile
			// (the caller denies anyway).
			e := &Error{Timeout, fmt.Errorf("waiting for the kernel: %w", ctx.Err())}
			for i, ok := range answered {
				if !ok {
					errs[i] = e
				}
			}
			return errs
		}
	}
	return errs
}

// waitContext returns the context a level Required wait runs under: it
// ends at ctx's deadline or after timeout, whichever comes first, but is
// not ended by ctx's cancellation, which it reports when asked (Err)
// rather than waits on. The wait is short (the kernel takes a record in
// microseconds) and bounded; waiting on ctx itself would have the
// varlink server start watching the caller's connection for a hang-up (a
// goroutine and a poller registration) on every decision. A record of a
// caller that went away is still not sent: the writer asks Err before
// sending it.
func waitContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	wait, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	return callerErr{Context: wait, caller: ctx}, cancel
}

// callerErr is a wait's context whose Err also reports its caller's
// cancellation.
type callerErr struct {
	context.Context
	caller context.Context
}

func (c callerErr) Err() error {
	if err := c.caller.Err(); err != nil {
		return err
	}
	return c.Context.Err()
}
