// SPDX-License-Identifier: Apache-2.0

package limit

import "testing"

func TestConns(t *testing.T) {
	c := NewConns(5, 1, 2) // four unprivileged slots, two per uid
	for i, tt := range []struct {
		uid  uint32
		want bool
	}{
		{1000, true}, {1000, true}, {1000, false}, // per uid
		{1001, true}, {1001, true}, // the pool is full now
		{1002, false},
	} {
		if got := c.Acquire(tt.uid); got != tt.want {
			t.Errorf("step %d: Acquire(%d) = %v, want %v", i, tt.uid, got, tt.want)
		}
	}
	c.Release(1000)
	if !c.Acquire(1002) {
		t.Error("a released slot is not free again")
	}
	if c.Acquire(1000) {
		t.Error("the released slot was given twice")
	}
	c.Release(1001)
	c.Release(1001)
	if n := len(c.byUID); n != 2 {
		t.Errorf("%d uids counted, want 2", n)
	}
}

func TestConnsPoolNeverEmpty(t *testing.T) {
	if c := NewConns(4, 10, 1); !c.Acquire(1) {
		t.Error("more reserved slots than clients left no slot at all")
	}
}

func TestConnsSetLimits(t *testing.T) {
	c := NewConns(10, 0, 3)
	for range 3 {
		c.Acquire(1000)
	}
	c.SetLimits(10, 0, 1) // lowered: the three held stay, none more
	if c.Acquire(1000) || c.PerUser() != 1 {
		t.Errorf("uid over the lowered per-user limit got a slot (per user %d)", c.PerUser())
	}
	if !c.Acquire(1001) {
		t.Error("another uid got no slot under the lowered limit")
	}
	c.SetLimits(10, 0, 5) // raised
	if !c.Acquire(1000) {
		t.Error("the raised per-user limit gave no slot")
	}
	c.SetLimits(2, 1, 5) // a pool of one, held many times over
	if c.Acquire(1002) {
		t.Error("a slot beyond the lowered total")
	}
}
