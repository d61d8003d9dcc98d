// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Reason says why cached decisions may be stale.
type Reason int

const (
	// PolicyChanged: polkitd emitted Changed (rules, actions, temporary
	// authorizations or, since polkit 125, sessions changed).
	PolicyChanged Reason = iota + 1
	// OwnerChanged: org.freedesktop.PolicyKit1 got a new owner or lost it
	// (polkitd started, stopped or crashed). polkitd emits no Changed when it
	// restarts, yet it may have come back with other rules.
	OwnerChanged
	// Disconnected: the bus connection broke; Check fails until Reconnected.
	Disconnected
	// Reconnected: a new bus connection is up and subscribed. Whatever
	// changed while disconnected went unseen.
	Reconnected
)

// String names the reason for logs and metrics labels.
func (r Reason) String() string {
	switch r {
	case PolicyChanged:
		return "policy-changed"
	case OwnerChanged:
		return "owner-changed"
	case Disconnected:
		return "disconnected"
	case Reconnected:
		return "reconnected"
	default:
		return fmt.Sprintf("reason-%d", int(r))
	}
}

// An Event tells that cached decisions may be stale. Events of one reason
// that arrive faster than they are received are coalesced into one.
type Event struct {
	Reason Reason
	Count  int    // occurrences coalesced into this event, at least 1
	Detail string // what happened, for logs; of the latest occurrence
}

// eventQueue delivers events to a channel without ever blocking the
// producer (the D-Bus dispatch goroutine): it keeps at most one pending
// event per reason, ordered by latest occurrence, so the last event
// received tells the current connection state.
type eventQueue struct {
	out  chan Event
	wake chan struct{}
	gen  atomic.Uint64 // incremented by every push, before it is queued

	mu      sync.Mutex
	pending []Event
}

func newEventQueue() *eventQueue {
	return &eventQueue{out: make(chan Event), wake: make(chan struct{}, 1)}
}

// push records ev; it never blocks.
func (q *eventQueue) push(ev Event) {
	q.gen.Add(1)
	q.mu.Lock()
	ev.Count = 1
	for i, p := range q.pending {
		if p.Reason == ev.Reason {
			ev.Count += p.Count
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			break
		}
	}
	q.pending = append(q.pending, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest pending event.
func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return Event{}, false
	}
	ev := q.pending[0]
	q.pending = q.pending[1:]
	return ev, true
}

// run forwards events to q.out until ctx ends, then closes q.out. While
// one event waits for the receiver, later ones coalesce in the queue.
func (q *eventQueue) run(ctx context.Context) {
	defer close(q.out)
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for ev, ok := q.pop(); ok; ev, ok = q.pop() {
			select {
			case <-ctx.Done():
				return
			case q.out <- ev:
			}
		}
	}
}
