// SPDX-License-Identifier: Apache-2.0

package limit

import (
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// clock is a fake time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time               { return c.t }
func (c *clock) advance(d time.Duration)      { c.t = c.t.Add(d) }
func newClock() *clock                        { return &clock{t: time.Unix(1e9, 0)} }
func user(uid uint32, pid int32) proc.Process { return proc.Process{PID: pid, UID: uid} }

// ask asks n times for one decision for p, reporting refusals as a front
// end would, and returns how many were admitted.
func ask(r *Rate, p proc.Process, n int) int {
	admitted := 0
	for range n {
		if r.Allow(p, 1) {
			admitted++
		} else {
			r.Refuse(p)
		}
	}
	return admitted
}

func TestRate(t *testing.T) {
	c := newClock()
	r := NewRate(10, 5, c.now)
	alice, bob := user(1000, 1), user(1001, 2)
	if admitted := ask(r, alice, 20); admitted != 5 {
		t.Errorf("burst: %d of 20 admitted, want 5", admitted)
	}
	if !r.Allow(bob, 1) {
		t.Error("bob is limited by alice's calls")
	}
	c.advance(time.Second) // 10 more tokens, capped at 5
	if admitted := ask(r, alice, 20); admitted != 5 {
		t.Errorf("after a second: %d admitted, want 5 (the burst)", admitted)
	}
	ref := r.Drain()
	if len(ref) != 1 || ref[0].UID != 1000 || ref[0].Calls != 30 || ref[0].Last != alice {
		t.Errorf("Drain = %+v, want alice's 30 refusals", ref)
	}
	if ref := r.Drain(); len(ref) != 0 {
		t.Errorf("second Drain = %+v, want none", ref)
	}
}

func TestRateBatch(t *testing.T) {
	c := newClock()
	r := NewRate(100, 10, c.now)
	alice := user(1000, 1)
	if !r.Allow(alice, 1000) {
		t.Fatal("a batch larger than the burst is never admitted")
	}
	c.advance(5 * time.Second) // 500 of the 990 owed
	if r.Allow(alice, 1) {
		t.Error("admitted while the batch is not paid for")
	}
	c.advance(5 * time.Second)
	if !r.Allow(alice, 1) {
		t.Error("refused once the batch was paid for")
	}
}

func TestRateOff(t *testing.T) {
	r := NewRate(0, 0, nil)
	for range 1000 {
		if !r.Allow(user(1, 1), 100) {
			t.Fatal("a limit of 0 refused")
		}
	}
}

func TestRateForgetsIdleUIDs(t *testing.T) {
	c := newClock()
	r := NewRate(10, 5, c.now)
	r.Allow(user(1000, 1), 1)
	c.advance(time.Second)
	r.Drain()
	if n := len(r.buckets); n != 0 {
		t.Errorf("%d buckets kept after they refilled", n)
	}
}
