// SPDX-License-Identifier: Apache-2.0

// Package ratelimit holds back repeated log messages: a failure that
// repeats at the decision rate (polkit down, audit refused) must not flood
// the daemon's log, yet how many were held back is still told.
package ratelimit

import (
	"sync"
	"time"
)

// WarnEvery is the least time between two warnings of one kind, the
// interval the engine and the audit writer hold their warnings back by.
const WarnEvery = 10 * time.Second

// Limiter lets one message of each kind through per interval and counts
// those it held back. It is safe for concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	next map[string]time.Time
	held map[string]uint64
}

// New returns a Limiter letting one message of a kind through every
// interval. now is the clock; nil means time.Now.
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now, next: map[string]time.Time{}, held: map[string]uint64{}}
}

// Allow reports whether a message of this kind may be logged now and, if
// so, how many were held back since the last one.
func (l *Limiter) Allow(kind string) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Before(l.next[kind]) {
		l.held[kind]++
		return false, 0
	}
	l.next[kind] = now.Add(l.every)
	held := l.held[kind]
	l.held[kind] = 0
	return true, held
}
