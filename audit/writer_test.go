// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// fakeSender stands in for the kernel: it records what it is sent, and can
// fail, or block until released as the kernel does with a full backlog.
type fakeSender struct {
	mu      sync.Mutex
	texts   []string
	batches []int         // the size of each send
	err     error         // every record fails with it
	refuse  string        // a record containing it fails with EPERM
	blocked chan struct{} // non-nil: send waits until it is closed
	steps   chan struct{} // non-nil: each send waits for a value from it, or for it to be closed
	entered chan struct{} // told, when it has room, that a send started
	delay   time.Duration // each send takes this long: a slow kernel
	low     atomic.Int32  // sends made on a thread at lowNice
	raised  atomic.Int32  // sends made on a thread not at lowNice
	closed  bool
}

func (f *fakeSender) send(msgs [][]byte) []error {
	f.mu.Lock()
	blocked, entered, steps := f.blocked, f.entered, f.steps
	f.mu.Unlock()
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if blocked != nil {
		<-blocked
	}
	if steps != nil {
		<-steps
	}
	// The nice value of this thread, the writer's that sends.
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil && 20-prio == lowNice {
		f.low.Add(1)
	} else if err == nil {
		f.raised.Add(1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	time.Sleep(f.delay)
	f.batches = append(f.batches, len(msgs))
	errs := make([]error, len(msgs))
	for i, msg := range msgs {
		text := string(msg)
		switch {
		case f.err != nil:
			errs[i] = f.err
		case f.refuse != "" && strings.Contains(text, f.refuse):
			errs[i] = fmt.Errorf("kernel refused the record: %w", syscall.EPERM)
		case text == "" || strings.ContainsRune(text, 0):
			errs[i] = errors.New("empty record, or one the kernel would cut at a NUL")
		default:
			f.texts = append(f.texts, text)
		}
	}
	return errs
}

func (f *fakeSender) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeSender) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.texts...)
}

// fakeStatus answers status reads with whatever the test set last.
type fakeStatus struct {
	mu   sync.Mutex
	st   Status
	lost uint32
	err  error
}

func (f *fakeStatus) read() (Status, uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, f.lost, f.err
}

func (f *fakeStatus) set(st Status, lost uint32, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st, f.lost, f.err = st, lost, err
}

func (f *fakeStatus) close() error { return nil }

type fakeKernel struct {
	s       *fakeSender
	st      *fakeStatus
	dialErr error
	noCap   bool
}

func (k *fakeKernel) dial() (sender, statusReader, error) {
	if k.dialErr != nil {
		return nil, nil, k.dialErr
	}
	return k.s, k.st, nil
}

func (k *fakeKernel) canWrite() (bool, error) { return !k.noCap, nil }

var enabled = Status{Known: true, Enabled: 1, Daemon: 99, BacklogLimit: 8192}

func newFake() *fakeKernel {
	return &fakeKernel{s: &fakeSender{}, st: &fakeStatus{st: enabled}}
}

// openFake opens a Writer on k that is closed at cleanup.
func openFake(t *testing.T, cfg Config, k *fakeKernel) *Writer {
	t.Helper()
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = 5 * time.Millisecond
	}
	w, err := open(cfg, k)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func record(i int) Record {
	r := webRecord()
	r.VMName = fmt.Sprintf("vm%d", i)
	return r
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 5*time.Second, what, cond)
}

func waitWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAutoSendsInOrder(t *testing.T) {
	k := newFake()
	w := openFake(t, Config{Level: Auto}, k)
	for i := 0; i < 100; i++ {
		if err := w.Write(context.Background(), record(i)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := k.s.sent()
	if len(got) != 100 {
		t.Fatalf("%d records sent, want 100", len(got))
	}
	for i, text := range got {
		if want := Format(record(i)); text != want {
			t.Fatalf("record %d:\n got %s\nwant %s", i, text, want)
		}
	}
	if st := w.Stats(); st.Sent != 100 || st.Lost.Total() != 0 {
		t.Errorf("stats %+v, want 100 sent and none lost", st)
	}
	if !k.s.closed {
		t.Error("sender not closed by Close")
	}
}

// TestAutoNeverWaitsForABlockedKernel: once the kernel has held the
// writer for longer than stalled, level Auto records that find the queue
// full are lost at once, without holding up their decisions.
func TestAutoNeverWaitsForABlockedKernel(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	w := openFake(t, Config{Level: Auto, QueueSize: 10}, k)
	w.Write(context.Background(), record(0))
	<-k.s.entered // the writer is now held "in the kernel"

	start := time.Now()
	for i := 1; i <= 1000; i++ {
		w.Write(context.Background(), record(i))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("1000 writes took %v with the kernel blocked", d)
	}
	st := w.Stats()
	if st.Queued != 10 || st.QueueCap != 10 || st.Lost[QueueFull] != 990 {
		t.Errorf("stats %+v, want 10 queued and 990 lost to a full queue", st)
	}
	close(k.s.blocked)
	waitFor(t, "the queue to drain", func() bool { return w.Stats().Sent == 11 })
}

// TestAutoWaitsForASlowKernel: while the writer keeps sending, level Auto
// records that find the queue full wait for room: decisions coming faster
// than a slow kernel takes their records lose none.
func TestAutoWaitsForASlowKernel(t *testing.T) {
	k := newFake()
	k.s.delay = 2 * time.Millisecond // 64 records at most per 2 ms
	w := openFake(t, Config{Level: Auto, QueueSize: 16}, k)
	const n = 2000
	for i := range n {
		w.Write(context.Background(), record(i))
	}
	waitFor(t, "every record to be sent", func() bool { return w.Stats().Sent == n })
	if st := w.Stats(); st.Lost.Total() != 0 {
		t.Errorf("stats %+v, want none lost", st)
	}
	if got := len(k.s.sent()); got != n {
		t.Errorf("the kernel got %d records, want %d", got, n)
	}
}

// TestAutoWaitsInTurn: records waiting for room in a full queue get it
// in the order they came, before any record that comes after them, so
// that no decision waits while later ones pass it.
func TestAutoWaitsInTurn(t *testing.T) {
	k := newFake()
	// A kernel that takes a record at a time, slowly, though within the
	// stall bound: a waiter's wait spans several of its sends, and
	// records keep coming meanwhile.
	k.s.delay = 150 * time.Millisecond
	w := openFake(t, Config{Level: Auto, QueueSize: 1, Linger: -1}, k)
	for i := range 2 { // one being sent, one filling the queue
		w.Write(context.Background(), record(i))
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i, at := range []time.Duration{10, 100, 160, 170} {
		time.Sleep(time.Until(start.Add(at * time.Millisecond)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Write(context.Background(), record(i+2))
		}()
	}
	wg.Wait()
	waitFor(t, "every record to be sent", func() bool { return w.Stats().Sent == 6 })
	var want []string
	for i := range 6 {
		want = append(want, Format(record(i)))
	}
	if sent := k.s.sent(); !slices.Equal(sent, want) {
		t.Errorf("sent in another order than the records came: %d records", len(sent))
	}
	if st := w.Stats(); st.Lost.Total() != 0 {
		t.Errorf("stats %+v, want none lost", st)
	}
}

// TestAutoListKeepsItsPlace: a level Auto list that finds the queue full
// waits for room in its place in line for as long as the writer keeps
// sending, however long that takes: the records written while it waits
// are sent after it, and none is lost. The kernel takes a batch per
// step, paced well within the stall bound; a batch holds few records of
// MaxText, so that the list gets room only after more than the stall
// bound, while later records keep coming. The list needs the whole
// queue's room: records given room by one take may reach the queue in
// any order, so only such a wait shows its turn in the order sent.
func TestAutoListKeepsItsPlace(t *testing.T) {
	ctx := context.Background()
	k := newFake()
	steps := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(steps) }) } // the kernel takes the rest at once
	k.s.steps = steps
	k.s.entered = make(chan struct{}, 1)
	w := openFake(t, Config{Level: Auto, QueueSize: maxBatch, Linger: -1}, k)
	t.Cleanup(release) // registered after openFake's Close: runs before it
	// Everything is built before the first record is written: the stall
	// clock runs from the writer's first take, and the first step must
	// come well within its bound, on a loaded machine too.
	queued := make([]Record, maxBatch+1)
	list := make([]Record, maxBatch)
	var first []string // in the order they must be sent
	for i := range queued {
		queued[i] = record(i)
		queued[i].Details = append(queued[i].Details, Detail{"pad", strings.Repeat("x", MaxText)})
		first = append(first, Format(queued[i]))
	}
	for i := range list {
		list[i] = record(1000 + i)
		first = append(first, Format(list[i]))
	}
	for i, r := range queued {
		w.Write(ctx, r)
		if i == 0 {
			<-k.s.entered // the writer sends it: the others fill the queue
		}
	}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		w.WriteMany(ctx, slices.Values(list))
	}()
	// TryAcquire fails, even for nothing, only while someone waits.
	waitFor(t, "the list to wait for room", func() bool {
		select {
		case <-waited:
			t.Fatalf("the list did not wait for room: stats %+v", w.Stats())
		default:
		}
		return !w.room.TryAcquire(0)
	})
	start := time.Now()
	var later []string
	var wg sync.WaitGroup
	for stepping := true; stepping; {
		select {
		case steps <- struct{}{}: // the kernel takes a batch
		case <-waited:
			stepping = false
			continue
		}
		r := record(2000 + len(later))
		later = append(later, Format(r))
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Write(ctx, r)
		}()
		time.Sleep(40 * time.Millisecond)
	}
	waitedFor := time.Since(start)
	release()
	wg.Wait()
	total := uint64(len(first) + len(later))
	waitFor(t, "every record to be sent or lost", func() bool {
		st := w.Stats()
		return st.Sent+st.Lost.Total() == total
	})
	if st := w.Stats(); st.Lost.Total() != 0 {
		t.Fatalf("stats %+v, want none lost", st)
	}
	if waitedFor <= stalled {
		t.Fatalf("the list got room after %v, within the stall bound: none of its waits ran out", waitedFor)
	}
	sent := k.s.sent()
	for i, text := range first {
		if sent[i] != text {
			t.Fatalf("record %d sent out of turn: those written before the list waited, then the list's, come first", i)
		}
	}
	// The later records got room together: they may be queued in any order.
	slices.Sort(later)
	if rest := slices.Sorted(slices.Values(sent[len(first):])); !slices.Equal(rest, later) {
		t.Errorf("the %d records written while the list waited are not those sent after it", len(later))
	}
}

// TestCloseEndsTheWaitForRoom: a level Auto record waiting for room when
// the writer is closed is counted as lost to the close, and Close does
// not wait for the stall bound.
func TestCloseEndsTheWaitForRoom(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	w, err := open(Config{Level: Auto, QueueSize: 1, StatusInterval: time.Hour}, k)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(context.Background(), record(0))
	<-k.s.entered
	w.Write(context.Background(), record(1)) // fills the queue
	waiting := make(chan struct{})
	go func() {
		defer close(waiting)
		w.Write(context.Background(), record(2)) // waits for room
	}()
	time.Sleep(20 * time.Millisecond) // within stalled: still waiting
	go func() { time.Sleep(50 * time.Millisecond); close(k.s.blocked) }()
	w.Close()
	<-waiting
	if st := w.Stats(); st.Lost[Closed] != 1 || st.Sent != 2 {
		t.Errorf("stats %+v, want 2 sent and the waiting record lost as closed", st)
	}
}

func TestRequiredWaitsForTheKernel(t *testing.T) {
	k := newFake()
	w := openFake(t, Config{Level: Required}, k)
	if err := w.Write(context.Background(), record(1)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := k.s.sent(); len(got) != 1 {
		t.Fatalf("Write returned before the record was sent (%d sent)", len(got))
	}

	k.s.mu.Lock()
	k.s.err = fmt.Errorf("kernel refused the record: %w", syscall.EPERM)
	k.s.mu.Unlock()
	err := w.Write(context.Background(), record(2))
	var aerr *Error
	if !errors.As(err, &aerr) || aerr.Cause != Refused || !errors.Is(err, syscall.EPERM) {
		t.Fatalf("Write with EPERM from the kernel = %v, want a Refused *Error", err)
	}
	if st := w.Stats(); st.Sent != 1 || st.Lost[Refused] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// doneWatch is a caller's context that records whether anything asked
// for its Done channel, as the varlink server's hang-up watch does (it
// starts watching the connection then).
type doneWatch struct {
	context.Context
	asked atomic.Bool
}

func (c *doneWatch) Done() <-chan struct{} {
	c.asked.Store(true)
	return c.Context.Done()
}

// TestRequiredDoesNotWaitOnTheCaller: a level Required write, one or
// many, never asks for its caller's Done channel, yet keeps the
// caller's deadline.
func TestRequiredDoesNotWaitOnTheCaller(t *testing.T) {
	k := newFake()
	w := openFake(t, Config{Level: Required}, k)
	ctx := &doneWatch{Context: context.Background()}
	if err := w.Write(ctx, record(1)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if errs := w.WriteMany(ctx, slices.Values([]Record{record(2), record(3)})); errs != nil {
		t.Fatalf("WriteMany: %v", errs)
	}
	if ctx.asked.Load() {
		t.Error("a level Required write asked for its caller's Done channel")
	}

	// A caller gone before its record is sent is still not recorded.
	gone, leave := context.WithCancel(context.Background())
	leave()
	var aerr *Error
	if err := w.Write(gone, record(9)); !errors.As(err, &aerr) || aerr.Cause != Timeout {
		t.Fatalf("Write for a caller gone = %v, want a Timeout *Error", err)
	}
	if got := k.s.sent(); len(got) != 3 {
		t.Errorf("%d records sent, want 3: a gone caller's was sent", len(got))
	}

	k.s.blocked = make(chan struct{})
	defer close(k.s.blocked)
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.Write(short, record(4)); !errors.As(err, &aerr) || aerr.Cause != Timeout {
		t.Fatalf("Write past the caller's deadline = %v, want a Timeout *Error", err)
	}
}

func TestRequiredTimesOutAndDoesNotSendLate(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 2)
	w := openFake(t, Config{Level: Required, Timeout: 50 * time.Millisecond}, k)

	start := time.Now()
	err := w.Write(context.Background(), record(1)) // held in the kernel
	var aerr *Error
	if !errors.As(err, &aerr) || aerr.Cause != Timeout {
		t.Fatalf("Write with the kernel blocked = %v, want a Timeout *Error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.Write(ctx, record(2)); !errors.As(err, &aerr) || aerr.Cause != Timeout {
		t.Fatalf("Write with a short ctx = %v, want a Timeout *Error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("two timed-out writes took %v", d)
	}
	close(k.s.blocked)
	waitFor(t, "the second record to be dropped", func() bool { return w.Stats().Lost[Timeout] == 1 })
	// The first record reached the kernel before its caller gave up; the
	// second must not be sent after it: its caller denied.
	if got := k.s.sent(); len(got) != 1 || !strings.Contains(got[0], `vm="vm1"`) {
		t.Errorf("sent %q, want only vm1's record", got)
	}
}

func TestOpen(t *testing.T) {
	dialErr := &Error{Unavailable, errors.New("audit not supported by kernel")}
	tests := []struct {
		name      string
		level     Level
		edit      func(*fakeKernel)
		wantCause Cause // at Required: Open's error; at Auto: how records are lost
	}{
		{"no kernel support required", Required, func(k *fakeKernel) { k.dialErr = dialErr }, Unavailable},
		{"no kernel support auto", Auto, func(k *fakeKernel) { k.dialErr = dialErr }, Unavailable},
		{"no capability required", Required, func(k *fakeKernel) { k.noCap = true }, Refused},
		{"no capability auto", Auto, func(k *fakeKernel) { k.noCap = true }, Refused},
		{"disabled required", Required, func(k *fakeKernel) { k.st.st.Enabled = 0 }, Disabled},
		{"disabled auto", Auto, func(k *fakeKernel) { k.st.st.Enabled = 0 }, Disabled},
		{"user namespace required", Required, func(k *fakeKernel) { k.st.err = syscall.ECONNREFUSED }, Refused},
		{"status unreadable required", Required, func(k *fakeKernel) { k.st.err = syscall.EPERM }, 0},
		{"status unreadable auto", Auto, func(k *fakeKernel) { k.st.err = syscall.EPERM }, 0},
		{"usable required", Required, func(*fakeKernel) {}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFake()
			tt.edit(k)
			w, err := open(Config{Level: tt.level, StatusInterval: time.Hour}, k)
			if tt.level == Required && tt.wantCause != 0 {
				var aerr *Error
				if !errors.As(err, &aerr) || aerr.Cause != tt.wantCause {
					t.Fatalf("Open = %v, want an *Error with cause %s", err, tt.wantCause)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer w.Close()
			if err := w.Write(context.Background(), record(1)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			w.Close()
			st := w.Stats()
			if tt.wantCause == 0 {
				if st.Sent != 1 {
					t.Errorf("stats %+v, want the record sent", st)
				}
				return
			}
			if st.Sent != 0 || st.Lost.Total() != 1 || w.cnt.lost[tt.wantCause].Load() != 1 {
				t.Errorf("stats %+v, want one record lost as %s", st, tt.wantCause)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Level: 3}, {Level: -1}, {Level: Auto, QueueSize: -1}, {Level: Auto, Timeout: -1}} {
		if _, err := open(cfg, newFake()); err == nil {
			t.Errorf("open(%+v) succeeded", cfg)
		}
	}
}

func TestDisabledWhileRunning(t *testing.T) {
	for _, level := range []Level{Auto, Required} {
		t.Run(level.String(), func(t *testing.T) {
			k := newFake()
			w := openFake(t, Config{Level: level}, k)
			off := enabled
			off.Enabled = 0
			k.st.set(off, 0, nil)
			waitFor(t, "the status to be read", func() bool { return w.Stats().Status.Enabled == 0 })
			err := w.Write(context.Background(), record(1))
			if level == Required {
				var aerr *Error
				if !errors.As(err, &aerr) || aerr.Cause != Disabled {
					t.Fatalf("Write = %v, want a Disabled *Error", err)
				}
			}
			k.st.set(enabled, 0, nil)
			waitFor(t, "the status to be read", func() bool { return w.Stats().Status.Enabled == 1 })
			if err := w.Write(context.Background(), record(2)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			w.Close()
			if st := w.Stats(); st.Sent != 1 || st.Lost[Disabled] != 1 || len(k.s.sent()) != 1 {
				t.Errorf("stats %+v, want 1 sent and 1 lost while disabled", st)
			}
		})
	}
}

func TestKernelLost(t *testing.T) {
	k := newFake()
	k.st.lost = 5 // before Open: not ours to count
	w := openFake(t, Config{Level: Auto}, k)
	k.st.set(enabled, 12, nil)
	waitFor(t, "the rise to be seen", func() bool { return w.Stats().KernelLost == 7 })
	k.st.set(enabled, 3, nil) // auditctl --reset-lost, then 3 more
	waitFor(t, "the reset to be seen", func() bool { return w.Stats().KernelLost == 10 })
}

func TestCloseFlushesAndLaterWritesAreLost(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 100)
	w := openFake(t, Config{Level: Auto}, k)
	for i := 0; i < 50; i++ {
		w.Write(context.Background(), record(i))
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(k.s.blocked)
	}()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := len(k.s.sent()); n != 50 {
		t.Errorf("%d of 50 queued records written at Close", n)
	}
	w.Write(context.Background(), record(51))
	if st := w.Stats(); st.Lost[Closed] != 1 {
		t.Errorf("a write after Close: stats %+v, want it lost as closed", st)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	r := openFake(t, Config{Level: Required}, newFake())
	r.Close()
	var aerr *Error
	if err := r.Write(context.Background(), record(1)); !errors.As(err, &aerr) || aerr.Cause != Closed {
		t.Errorf("Write after Close at Required = %v, want a Closed *Error", err)
	}
}

func TestConcurrentWrites(t *testing.T) {
	for _, level := range []Level{Auto, Required} {
		t.Run(level.String(), func(t *testing.T) {
			k := newFake()
			w := openFake(t, Config{Level: level, QueueSize: 100000}, k)
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 200; i++ {
						if err := w.Write(context.Background(), record(i)); err != nil {
							t.Errorf("Write: %v", err)
							return
						}
						w.Stats()
					}
				}()
			}
			wg.Wait()
			w.Close()
			if st := w.Stats(); st.Sent != 1600 || st.Lost.Total() != 0 {
				t.Errorf("stats %+v, want 1600 sent", st)
			}
		})
	}
}

func TestOffOnlyLogs(t *testing.T) {
	var buf bytes.Buffer
	k := &fakeKernel{dialErr: errors.New("must not dial at level off")}
	w := openFake(t, Config{Level: Off, Log: true, Logger: slog.New(slog.NewTextHandler(&buf, nil))}, k)
	r := webRecord()
	r.Granted = false
	r.Reason = "policy"
	r.VMName = `a b"c`
	r.FrontEnd, r.Operation = "libvirt-guard", "DOMAIN_CREATE"
	if err := w.Write(context.Background(), r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	out := buf.String()
	for _, want := range []string{"level=WARN", `msg="access denied"`, "permission=start", `vm="a b\"c"`, "object.domain_name=web01", "reason=policy", "uid=1000",
		"frontend=libvirt-guard", "operation=DOMAIN_CREATE"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if st := w.Stats(); st.Sent != 0 || st.Lost.Total() != 0 || st.Level != Off {
		t.Errorf("stats %+v", st)
	}
}

func TestLossesAreLoggedRateLimited(t *testing.T) {
	var buf testsys.Buffer
	k := newFake()
	k.noCap = true
	w := openFake(t, Config{Level: Auto, Logger: slog.New(slog.NewTextHandler(&buf, nil))}, k)
	for i := 0; i < 1000; i++ {
		w.Write(context.Background(), record(i))
	}
	if n := strings.Count(buf.String(), "audit record not written"); n != 1 {
		t.Errorf("%d loss warnings for 1000 losses within %v, want 1:\n%s", n, ratelimit.WarnEvery, buf.String())
	}
	if !strings.Contains(buf.String(), "CAP_AUDIT_WRITE") {
		t.Errorf("the warning does not name the cause:\n%s", buf.String())
	}
}
