// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// callTimeout bounds every call the benchmark makes.
const callTimeout = 30 * time.Second

// Latency summarises a measured loop.
type Latency struct {
	N      int
	P50    time.Duration
	P99    time.Duration
	PerSec float64
}

// loop runs op n times in a row, timing each call.
func loop(n int, op func(i int) error) (Latency, error) {
	var t calls
	if err := t.run(n, op); err != nil {
		return Latency{}, err
	}
	return t.latency(), nil
}

// calls gathers the calls of one or more loops: how long each took, and
// the loops in all.
type calls struct {
	took  []time.Duration
	total time.Duration
}

// run times n calls of op in a row, adding them to t.
func (t *calls) run(n int, op func(i int) error) error {
	start := time.Now()
	defer func() { t.total += time.Since(start) }()
	for i := range n {
		t0 := time.Now()
		if err := op(i); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		t.took = append(t.took, time.Since(t0))
	}
	return nil
}

// latency summarises the calls gathered.
func (t *calls) latency() Latency {
	took := slices.Sorted(slices.Values(t.took))
	n := len(took)
	if n == 0 {
		return Latency{}
	}
	return Latency{N: n, P50: took[n/2], P99: took[n*99/100], PerSec: float64(n) / t.total.Seconds()}
}

// sustain runs every op at once, each in a loop, for d and returns the
// calls per second that succeeded, how many did, and how many failed.
func sustain(ops []func(int) error, d time.Duration) (float64, uint64, uint64) {
	var ok, failed atomic.Uint64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	start := time.Now()
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				if op(i) != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), ok.Load(), failed.Load()
}

// domain is a domain object named name, with a UUID derived from i.
func domain(name string, i int) accessapi.Object {
	return accessapi.Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{
		"domain_name": name, "domain_uuid": fmt.Sprintf("b0000000-0000-4000-8000-%012x", i)}}
}

// check asks, on behalf of p, for start on obj; a denial is an error
// here, since every object the benchmark asks about is allowed.
func check(c *client.Client, p testsys.Proc, obj accessapi.Object) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	r, err := c.Check(ctx, accessapi.CheckParams{Object: obj, Permission: "start", Subject: p.Subject()})
	if err == nil && !r.Allowed {
		err = fmt.Errorf("denied: %+v", r)
	}
	return err
}

// checkMany asks about objs for getattr-like filtering (start, which the
// rules decide) on behalf of p. Every object is allowed by the rules, so
// it is an error for any result not to be: a polkit answer that did not
// come in time is a denial, and is not cached. It returns how many of the
// allowed results came from the cache.
func checkMany(c *client.Client, p testsys.Proc, objs []accessapi.Object) (cached int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*callTimeout)
	defer cancel()
	rs, err := c.CheckMany(ctx, accessapi.CheckManyParams{Permission: "start", Objects: objs, Subject: p.Subject()})
	if err != nil {
		return 0, err
	}
	if len(rs) != len(objs) {
		return 0, fmt.Errorf("%d results for %d objects", len(rs), len(objs))
	}
	denied := 0
	for _, r := range rs {
		switch {
		case !r.Allowed:
			denied++
		case r.Cached:
			cached++
		}
	}
	if denied > 0 {
		return cached, fmt.Errorf("%d of %d objects denied (a polkit answer that did not come in time?)", denied, len(objs))
	}
	return cached, nil
}

// checkManyRetrying is checkMany asked again, up to tries times in all,
// while it fails: a polkitd stall (testsys.PolkitStall) can outlast the
// daemon's polkit_timeout for some objects of a long list. The first try
// is on c, each other on a connection from redial (a call that timed out
// closed its client's); it returns the client of the last try.
func checkManyRetrying(c *client.Client, redial func() *client.Client, p testsys.Proc, objs []accessapi.Object, tries int) (*client.Client, int, error) {
	_, err := checkMany(c, p, objs)
	retries := 0
	for ; err != nil && retries < tries-1; retries++ {
		c = redial()
		_, err = checkMany(c, p, objs)
	}
	return c, retries, err
}

// objects makes n distinct domains named prefix-i.
func objects(prefix string, n int) []accessapi.Object {
	out := make([]accessapi.Object, n)
	for i := range out {
		out[i] = domain(fmt.Sprintf("%s-%d", prefix, i), i)
	}
	return out
}
