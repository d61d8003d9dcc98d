// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
)

// Defaults for Config's zero values.
const (
	DefaultQueueSize      = 8192
	DefaultTimeout        = 2 * time.Second
	DefaultStatusInterval = time.Second
	DefaultLinger         = time.Millisecond
)

// closeFlush bounds how long Close spends writing the queued records.
const closeFlush = 5 * time.Second

// Config configures a Writer.
type Config struct {
	Level Level
	// Log also writes every decision to Logger (libvirtd.conf's
	// audit_logging), whatever the Level.
	Log bool
	// Logger receives decisions (with Log) and rate-limited warnings about
	// lost records. Nil discards them.
	Logger *slog.Logger
	// QueueSize bounds the records waiting for the kernel. At level Auto a
	// record that finds the queue full waits for room, and is lost (and
	// counted) only once the writer has stalled (waitForRoom).
	QueueSize int
	// Timeout bounds, at level Required, how long Write waits for the
	// kernel when ctx allows longer.
	Timeout time.Duration
	// StatusInterval is how often the kernel's audit status is read.
	StatusInterval time.Duration
	// Linger is how long, at level Auto, the writer holds a record that
	// arrives while it is idle, so that the records of the next moment
	// go to the kernel in one write (default DefaultLinger; negative:
	// none). A record's caller never waits for it; level Required
	// records are sent at once.
	Linger time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if !c.Level.valid() {
		return c, fmt.Errorf("audit: unknown audit level %d (want 0, 1 or 2)", int(c.Level))
	}
	if c.QueueSize < 0 || c.Timeout < 0 || c.StatusInterval < 0 {
		return c, errors.New("audit: negative queue size, timeout or status interval")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	return c, nil
}

// A Writer writes one audit record per decision. It is safe for concurrent
// use: Write may be called from any number of goroutines. One goroutine
// owns the netlink socket and sends the queued records in order; another
// reads the kernel's audit status.
//
// At level Auto, Write queues the record and returns; only when the queue
// is full does it wait, for room, and only while the writer is still
// sending (waitForRoom): a record that finds the writer stalled is counted
// and logged as lost. At level Required, Write returns only once the kernel accepted the
// record, or with an *Error saying why not; the caller must then deny.
type Writer struct {
	cfg   Config
	log   *slog.Logger
	limit *ratelimit.Limiter
	cnt   counters

	// down is why audit is unusable for good at level Auto (no
	// capability, no kernel support); nil when records are sent.
	down *Error

	jobs   chan job
	queued atomic.Int64 // records in jobs: at most QueueSize
	mu     sync.RWMutex // held for reading while queueing, for writing by Close
	closed bool
	// closing is cancelled first by Close: level Auto writers stop
	// waiting for room.
	closing     context.Context
	stopWaiting context.CancelFunc
	stop        chan struct{} // closed by Close once no writer queues any more
	running     sync.WaitGroup
	// room is the queue's room in records at level Auto, taken by the
	// writers of records and given back as the writer takes them; its
	// waiters are served in turn. sending is when the writer last took
	// records or handed a batch to the kernel, or started (Unix
	// nanoseconds). See waitForRoom.
	room    *semaphore.Weighted
	sending atomic.Int64

	status     atomic.Pointer[Status]
	kernelLost atomic.Uint64
	lastLost   uint32 // the kernel's lost counter at the last read; owned by poll
}

// outcome is what became of the i-th record of a level Required write:
// nil once the kernel accepted it.
type outcome struct {
	i   int
	err *Error
}

// Open checks that the kernel's audit is usable and starts the writer's
// goroutines. At level Required, unusable audit is an error naming the
// cause (an *Error); at level Auto it is logged and every record is counted
// as lost. Close the Writer when done.
func Open(cfg Config) (*Writer, error) {
	return open(cfg, kernel{})
}

// dialer is what open needs from the system; tests replace it.
type dialer interface {
	dial() (sender, statusReader, error)
	canWrite() (bool, error)
}

type kernel struct{}

func (kernel) dial() (sender, statusReader, error) {
	s, err := dialSender()
	if err != nil {
		return nil, nil, err
	}
	return s, &kernelStatus{}, nil
}

func (kernel) canWrite() (bool, error) { return canWrite() }

func open(cfg Config, k dialer) (*Writer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Writer{cfg: cfg, log: cfg.Logger, limit: ratelimit.New(ratelimit.WarnEvery, nil),
		stop: make(chan struct{}), room: semaphore.NewWeighted(int64(cfg.QueueSize))}
	w.closing, w.stopWaiting = context.WithCancel(context.Background())
	w.status.Store(&Status{})
	if cfg.Level == Off {
		return w, nil
	}
	s, sr, err := k.dial()
	var aerr *Error
	if err == nil {
		aerr = w.probe(k, sr)
	} else if !errors.As(err, &aerr) {
		aerr = &Error{Unavailable, err}
	}
	if aerr != nil && (cfg.Level == Required || aerr.Cause != Disabled) {
		return w.unusable(s, sr, aerr)
	}
	if aerr != nil {
		w.log.Warn("audit: the host's audit is disabled; decisions are not audited until it is enabled")
	}
	w.start(s, sr)
	return w, nil
}

// probe checks the capability and reads the status once. Without
// CAP_AUDIT_CONTROL the status is unknown, which is not an error: the
// kernel's answer to each record then tells whether it was accepted.
func (w *Writer) probe(k dialer, sr statusReader) *Error {
	ok, err := k.canWrite()
	if err != nil {
		return &Error{Unavailable, err}
	}
	if !ok {
		return &Error{Refused, errNoCap}
	}
	st, lost, err := sr.read()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return kernelError(err)
	case err != nil:
		w.log.Info("audit: cannot read the kernel's audit status; disabled audit and kernel losses will not be seen",
			"err", err)
		return nil
	}
	w.status.Store(&st)
	w.lastLost = lost
	if st.Daemon == 0 {
		w.log.Warn("audit: no audit daemon is running; records go to the kernel log until one starts")
	}
	if st.Enabled == 0 {
		return &Error{Disabled, errDisabled}
	}
	return nil
}

// unusable ends Open when audit cannot be used: an error at level Required,
// a Writer that counts every record as lost at level Auto.
func (w *Writer) unusable(s sender, sr statusReader, cause *Error) (*Writer, error) {
	if s != nil {
		s.close()
	}
	if sr != nil {
		sr.close()
	}
	if w.cfg.Level == Required {
		return nil, fmt.Errorf("audit_level 2 requires audit, which is unusable: %w", cause)
	}
	w.log.Warn("audit: unusable, decisions will not be audited", "cause", cause.Cause.String(), "err", cause.Err)
	w.down = cause
	return w, nil
}

func (w *Writer) start(s sender, sr statusReader) {
	w.jobs = make(chan job, w.cfg.QueueSize)
	w.sending.Store(time.Now().UnixNano())
	w.running.Add(2)
	go w.run(s)
	go w.poll(sr)
}

// Write records one decision. At level Off it only logs (with Config.Log).
// At level Auto it returns nil, and waits only while the queue is full and
// the writer is still sending (see waitForRoom): a record that cannot be
// written is counted in Stats and logged. At level Required it waits until
// the kernel accepted the record, ctx's deadline or Config.Timeout passed
// (cancelling ctx does not end the wait: see waitContext); an error (an
// *Error) means the record was not written and the caller must deny.
//
// A Required record whose caller stopped waiting before it was sent is
// dropped (and counted as Timeout), since it would record a grant that was
// not given. One the kernel was already holding (a full backlog) may still
// be logged: the caller's log then shows the denial.
//
// At level Auto the writer formats r after Write returns, on its own
// goroutine: the caller must not change what r's Details slice holds.
func (w *Writer) Write(ctx context.Context, r Record) error {
	if w.cfg.Log {
		w.logDecision(r)
	}
	switch w.cfg.Level {
	case Off:
		return nil
	case Auto:
		w.enqueue(r)
		return nil
	}
	return w.writeRequired(ctx, r)
}

func (w *Writer) writeRequired(ctx context.Context, r Record) error {
	return w.await(ctx, [][]byte{appendFormat(nil, r)})[0]
}

// lose counts a lost record and warns, rate-limited.
func (w *Writer) lose(e *Error) { w.loseN(e, 1) }

// loseN counts n records lost for one cause and warns, rate-limited.
func (w *Writer) loseN(e *Error, n int) {
	w.cnt.lost[e.Cause].Add(uint64(n))
	w.warn("lost-"+e.Cause.String(), "audit record not written",
		slog.String("cause", e.Cause.String()), slog.Any("err", e.Err))
}

// Stats returns the counters. It is safe to call at any time.
func (w *Writer) Stats() Stats {
	return Stats{
		Level:      w.cfg.Level,
		Sent:       w.cnt.sent.Load(),
		Lost:       w.cnt.losses(),
		Queued:     int(w.queued.Load()),
		QueueCap:   cap(w.jobs),
		KernelLost: w.kernelLost.Load(),
		Status:     *w.status.Load(),
	}
}

// Close stops the writer. It first writes the queued records, for at most
// a few seconds; those it cannot write are counted as lost. Writes after
// Close are lost (level Auto) or fail (level Required).
func (w *Writer) Close() error {
	w.stopWaiting()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.jobs == nil {
		return nil
	}
	close(w.stop)
	done := make(chan struct{})
	go func() { w.running.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(closeFlush + time.Second):
	}
	// The sender is held in the kernel (a full backlog); its goroutine ends
	// when the kernel lets it go.
	n := w.abandon()
	// The batch the writer holds is counted when the kernel lets it go.
	return fmt.Errorf("audit: writer blocked in the kernel at close; at least %d queued records lost", n)
}

// abandon counts the records still queued as lost.
func (w *Writer) abandon() int {
	n := 0
	for {
		select {
		case j := <-w.jobs:
			w.taken(j)
			w.abandonJob(j, &Error{Closed, errClosed})
			n += j.records()
		default:
			return n
		}
	}
}
