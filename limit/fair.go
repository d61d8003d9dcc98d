// SPDX-License-Identifier: Apache-2.0

package limit

import (
	"context"
	"sync"
)

// Fair bounds the calls in flight to a shared service (polkit, over one
// bus connection that allows only so many pending replies) and shares
// them fairly among uids: while several uids want calls, none holds more
// than its share of the total, so one uid's flood of uncached questions
// waits on itself and leaves room for everyone else.
type Fair struct {
	total int

	mu      sync.Mutex
	inUse   int
	holding map[uint32]int
	waiting []*waiter
}

type waiter struct {
	uid   uint32
	ready chan struct{} // closed when the slot is granted
}

// NewFair returns a budget of total calls in flight (at least one).
func NewFair(total int) *Fair {
	return &Fair{total: max(total, 1), holding: map[uint32]int{}}
}

// Acquire waits for a slot for a call on behalf of uid, or until ctx
// ends. Call release when the call is done.
func (f *Fair) Acquire(ctx context.Context, uid uint32) (release func(), err error) {
	f.mu.Lock()
	if len(f.waiting) == 0 && f.eligible(uid) {
		f.take(uid)
		f.mu.Unlock()
		return func() { f.release(uid) }, nil
	}
	w := &waiter{uid: uid, ready: make(chan struct{})}
	f.waiting = append(f.waiting, w)
	f.mu.Unlock()
	select {
	case <-w.ready:
		return func() { f.release(uid) }, nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			f.put(uid)
		default:
			f.remove(w)
		}
		f.grant()
		return nil, ctx.Err()
	}
}

// share is the most slots one uid may hold now: the total divided among
// the uids holding or waiting for one.
func (f *Fair) share() int {
	uids := len(f.holding)
	for _, w := range f.waiting {
		if f.holding[w.uid] == 0 {
			uids++ // counted once per uid is enough for a bound
		}
	}
	return max(1, f.total/max(uids, 1))
}

func (f *Fair) eligible(uid uint32) bool {
	return f.inUse < f.total && f.holding[uid] < f.share()
}

func (f *Fair) take(uid uint32) {
	f.inUse++
	f.holding[uid]++
}

func (f *Fair) put(uid uint32) {
	f.inUse--
	if f.holding[uid]--; f.holding[uid] <= 0 {
		delete(f.holding, uid)
	}
}

func (f *Fair) release(uid uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put(uid)
	f.grant()
}

// grant hands free slots to waiters, in order, skipping uids at their
// share.
func (f *Fair) grant() {
	for i := 0; i < len(f.waiting) && f.inUse < f.total; {
		w := f.waiting[i]
		if !f.eligible(w.uid) {
			i++
			continue
		}
		f.take(w.uid)
		close(w.ready)
		f.waiting = append(f.waiting[:i], f.waiting[i+1:]...)
	}
}

func (f *Fair) remove(w *waiter) {
	for i, x := range f.waiting {
		if x == w {
			f.waiting = append(f.waiting[:i], f.waiting[i+1:]...)
			return
		}
	}
}

// InUse returns the calls in flight.
func (f *Fair) InUse() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inUse
}
