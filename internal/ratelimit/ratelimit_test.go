// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(10*time.Second, func() time.Time { return now })
	steps := []struct {
		advance  time.Duration
		kind     string
		ok       bool
		suppress uint64
	}{
		{0, "a", true, 0},
		{time.Second, "a", false, 0},
		{time.Second, "a", false, 0},
		{0, "b", true, 0}, // kinds are limited separately
		{8 * time.Second, "a", true, 2},
		{time.Second, "a", false, 0},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		ok, held := l.Allow(s.kind)
		if ok != s.ok || held != s.suppress {
			t.Errorf("step %d: Allow(%s) = %v, %d; want %v, %d", i, s.kind, ok, held, s.ok, s.suppress)
		}
	}
}
