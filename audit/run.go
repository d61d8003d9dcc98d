// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"log/slog"
	"syscall"
	"time"
)

// run sends the queued records, in order and in batches, until Close; it
// owns s. A batch is what waits when the sender is free (at most maxBatch
// records): under load, concurrent level Required callers share one write
// and each is answered by its own record's outcome. At level Auto, a record
// that finds the queue otherwise empty waits Config.Linger for others to
// join it (see lingerFor).
func (w *Writer) run(s sender) {
	defer w.running.Done()
	defer s.close()
	low := w.startLowThread() // see priority.go
	if low != nil {
		defer low.stop()
	}
	var b batch
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case j := <-w.jobs:
			w.taken(j)
			if w.lingerFor(j) {
				w.wait(linger)
			}
			w.sendFrom(s, &b, j, low)
		case <-w.stop:
			w.drain(s, &b)
			return
		}
	}
}

// sendFrom writes j's records and those of the jobs queued behind it, in
// batches, the records of j that did not fit the first batch first. Each
// batch is formatted and sent on the low thread, if there is one, while
// less than half the queue waits, and on the writer's own otherwise: the
// choice is made again for every batch, so that a backlog building up
// meanwhile is not left to the low thread.
func (w *Writer) sendFrom(s sender, b *batch, j job, low *lowThread) {
	for {
		send := func() { w.handle(s, w.fill(b, j)) }
		if low != nil && w.queued.Load() < int64(max(w.cfg.QueueSize/catchUpShare, 1)) {
			low.do(send)
		} else {
			send()
		}
		if len(b.rest) == 0 {
			return
		}
		j = job{recs: b.takeRest()}
	}
}

// lingerFor reports whether the writer, having taken j, should wait for
// more records before sending: j is level Auto records (no caller waits
// for their outcome) too few to fill a batch, and nothing else is
// queued, so the writer was idle and a client's calls are arriving one
// at a time. Sending each such record alone costs a wake-up of this
// goroutine, then of the kernel's kauditd and of auditd, per decision,
// on the cores the client and the daemon answer on; gathering those of
// the next Config.Linger costs one of each per batch. A queue that is
// not empty is sent at once: the writer is behind, and waiting would
// only slow it.
func (w *Writer) lingerFor(j job) bool {
	return w.cfg.Linger > 0 && j.done == nil && j.records() < maxBatch && len(w.jobs) == 0
}

// wait sleeps for Config.Linger on t, or until Close.
func (w *Writer) wait(t *time.Timer) {
	t.Reset(w.cfg.Linger)
	select {
	case <-t.C:
	case <-w.stop:
		t.Stop()
	}
}

// handle writes a batch of records. A level Required record whose caller
// stopped waiting is not sent: it would say "granted" for a request that
// the caller has denied.
func (w *Writer) handle(s sender, b *batch) {
	disabled := false
	if st := w.status.Load(); st.Known && st.Enabled == 0 {
		disabled = true
	}
	b.msgs, b.sent = b.msgs[:0], b.sent[:0]
	start := 0
	for i, j := range b.jobs {
		text := b.text[start:b.ends[i]]
		start = b.ends[i]
		switch {
		case j.ctx != nil && j.ctx.Err() != nil:
			w.finish(j, &Error{Timeout, j.ctx.Err()})
		case disabled:
			w.finish(j, &Error{Disabled, errDisabled})
		default:
			b.msgs = append(b.msgs, text)
			b.sent = append(b.sent, j)
		}
	}
	if len(b.msgs) == 0 {
		return
	}
	errs := s.send(b.msgs)
	w.sending.Store(time.Now().UnixNano())
	for i, err := range errs {
		if err != nil {
			w.finish(b.sent[i], kernelError(err))
		} else {
			w.finish(b.sent[i], nil)
		}
	}
}

// finish counts the outcome of j, one record, and tells its caller, if
// one waits.
func (w *Writer) finish(j job, e *Error) {
	if e == nil {
		w.cnt.sent.Add(1)
	} else {
		w.lose(e)
	}
	if j.done != nil {
		j.done <- outcome{j.i, e}
	}
}

// abandonJob counts j's records as lost for e, and tells its caller.
func (w *Writer) abandonJob(j job, e *Error) {
	if j.recs != nil {
		w.loseN(e, len(j.recs))
		return
	}
	w.finish(j, e)
}

// drain writes what was queued before Close, until closeFlush passes.
func (w *Writer) drain(s sender, b *batch) {
	deadline := time.Now().Add(closeFlush)
	for {
		var j job
		if len(b.rest) > 0 {
			j = job{recs: b.takeRest()}
		} else {
			select {
			case j = <-w.jobs:
				w.taken(j)
			default:
				return
			}
		}
		if time.Now().After(deadline) {
			w.abandonJob(j, &Error{Closed, errClosed})
			continue
		}
		w.handle(s, w.fill(b, j))
	}
}

// poll reads the kernel's audit status every StatusInterval until Close;
// it owns sr. It stops reading when the status is not readable for lack of
// privilege: that will not change.
func (w *Writer) poll(sr statusReader) {
	defer w.running.Done()
	defer sr.close()
	t := time.NewTicker(w.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if !w.refresh(sr) {
				return
			}
		}
	}
}

// refresh reads the status once and reports whether to keep reading.
func (w *Writer) refresh(sr statusReader) bool {
	st, lost, err := sr.read()
	if err != nil {
		w.status.Store(&Status{})
		if errors.Is(err, syscall.EPERM) {
			w.log.Info("audit: the kernel's audit status is no longer readable", "err", err)
			return false
		}
		w.warn("status", "audit: cannot read the kernel's audit status", slog.Any("err", err))
		return true
	}
	old := w.status.Swap(&st)
	w.noteChanges(old, &st)
	w.noteKernelLost(lost)
	return true
}

// noteChanges logs the status changes an operator should know about.
func (w *Writer) noteChanges(old, st *Status) {
	if old.Known && (old.Enabled == 0) != (st.Enabled == 0) {
		if st.Enabled == 0 {
			w.log.Warn("audit: the host's audit was disabled; decisions are not audited")
		} else {
			w.log.Info("audit: the host's audit was enabled; decisions are audited again")
		}
	}
	if old.Known && (old.Daemon == 0) != (st.Daemon == 0) {
		if st.Daemon == 0 {
			w.log.Warn("audit: the audit daemon is gone; records go to the kernel log until one starts")
		} else {
			w.log.Info("audit: an audit daemon is running again", "pid", st.Daemon)
		}
	}
}

// noteKernelLost adds the rise of the kernel's lost counter. The counter
// can be reset (auditctl --reset-lost); it then starts again from zero.
func (w *Writer) noteKernelLost(lost uint32) {
	var rise uint32
	if lost >= w.lastLost {
		rise = lost - w.lastLost
	} else {
		rise = lost
	}
	w.lastLost = lost
	if rise == 0 {
		return
	}
	w.kernelLost.Add(uint64(rise))
	w.warn("kernel-lost", "audit: the kernel dropped audit records (see auditctl -s)",
		slog.Uint64("dropped", uint64(rise)))
}
