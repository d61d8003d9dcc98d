// SPDX-License-Identifier: Apache-2.0

package limit

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestFairShares(t *testing.T) {
	f := NewFair(4)
	var bobs []func()
	for range 4 { // alone, bob may take everything
		rel, err := f.Acquire(context.Background(), 1001)
		if err != nil {
			t.Fatal(err)
		}
		bobs = append(bobs, rel)
	}
	// bob asks for a fifth, then alice for one: as bob's slots free, alice
	// is served first, and bob waits while he holds his share (2 of 4).
	granted := make(chan uint32, 2)
	ask := func(uid uint32) {
		if _, err := f.Acquire(context.Background(), uid); err == nil {
			granted <- uid
		}
	}
	go ask(1001)
	time.Sleep(20 * time.Millisecond)
	go ask(1000)
	time.Sleep(20 * time.Millisecond)
	bobs[0]()
	bobs[1]()
	if uid := <-granted; uid != 1000 {
		t.Errorf("first grant to %d, want alice (1000)", uid)
	}
	select {
	case uid := <-granted:
		t.Errorf("granted to %d while bob holds his share", uid)
	case <-time.After(50 * time.Millisecond):
	}
	bobs[2]()
	if uid := <-granted; uid != 1001 {
		t.Errorf("then granted to %d, want bob", uid)
	}
}

func TestFairCancel(t *testing.T) {
	f := NewFair(1)
	rel, _ := f.Acquire(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Acquire(ctx, 2); err == nil {
		t.Fatal("Acquire over the budget did not end with its context")
	}
	rel()
	if f.InUse() != 0 {
		t.Errorf("%d in use after every slot was released", f.InUse())
	}
	rel2, err := f.Acquire(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	rel2()
}

func TestFairBound(t *testing.T) {
	f := NewFair(8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := f.Acquire(context.Background(), uint32(i%5))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			peak = max(peak, f.InUse())
			mu.Unlock()
			time.Sleep(time.Millisecond)
			rel()
		}()
	}
	wg.Wait()
	if peak > 8 || f.InUse() != 0 {
		t.Errorf("peak %d in flight (budget 8), %d left", peak, f.InUse())
	}
}
