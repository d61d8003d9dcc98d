// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// size returns the number of keys held or waited for.
func (k *keyLocks) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}

// TestKeyLocksContend: a creator waits for another exactly when their
// documents share a name or a UUID, and the table is empty after.
func TestKeyLocksContend(t *testing.T) {
	held := ownKeys(xmlpolicy.Uses{Name: "vm1", UUID: "a0000000-0000-4000-8000-000000000001"})
	for _, tt := range []struct {
		name    string
		uses    xmlpolicy.Uses
		contend bool
	}{
		{"same document", xmlpolicy.Uses{Name: "vm1", UUID: "a0000000-0000-4000-8000-000000000001"}, true},
		{"same name", xmlpolicy.Uses{Name: "vm1", UUID: "a0000000-0000-4000-8000-000000000002"}, true},
		{"same name, no uuid", xmlpolicy.Uses{Name: "vm1"}, true},
		{"same uuid", xmlpolicy.Uses{Name: "vm2", UUID: "a0000000-0000-4000-8000-000000000001"}, true},
		{"same uuid spelled otherwise", xmlpolicy.Uses{Name: "vm2", UUID: "A0000000-0000-4000-8000-000000000001"}, true},
		{"disjoint", xmlpolicy.Uses{Name: "vm2", UUID: "a0000000-0000-4000-8000-000000000002"}, false},
		{"disjoint, no uuid", xmlpolicy.Uses{Name: "vm2"}, false},
		{"a name like a uuid key", xmlpolicy.Uses{Name: "uuid a0000000-0000-4000-8000-000000000001"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := newKeyLocks()
			unlock, err := k.lock(context.Background(), held...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			unlock2, err := k.lock(ctx, ownKeys(tt.uses)...)
			if contended := errors.Is(err, context.DeadlineExceeded); contended != tt.contend {
				t.Fatalf("contended %v, want %v (err %v)", contended, tt.contend, err)
			}
			if err == nil {
				unlock2()
			}
			unlock()
			if tt.contend { // the one waiting gets it once it is free
				unlock2, err := k.lock(context.Background(), ownKeys(tt.uses)...)
				if err != nil {
					t.Fatal(err)
				}
				unlock2()
			}
			if n := k.size(); n != 0 {
				t.Errorf("%d keys left in the table", n)
			}
		})
	}
}

// TestKeyLocksWaitEnds: a waiter whose ctx is cancelled stops waiting at
// once, lets go of the keys it took, and leaves nothing in the table; one
// already done never takes even a free lock.
func TestKeyLocksWaitEnds(t *testing.T) {
	k := newKeyLocks()
	unlock, err := k.lock(context.Background(), "uuid u2")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := k.lock(ctx, "uuid u2", "name vm1") // takes "name vm1" (sorted first), then waits for "uuid u2"
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("did not wait: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after its ctx was cancelled")
	}
	if n := k.size(); n != 1 {
		t.Errorf("%d keys in the table, want the one held", n)
	}
	soon, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	free, err := k.lock(soon, "name vm1") // let go by the waiter
	if err != nil {
		t.Fatal(err)
	}
	free()
	unlock()
	if _, err := k.lock(ctx, "name vm3"); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled ctx: err %v", err)
	}
	if n := k.size(); n != 0 {
		t.Errorf("%d keys left in the table", n)
	}
}

// TestKeyLocksNoDeadlock: callers taking overlapping keys in opposite
// orders all finish (the keys are taken sorted), each key held by one at
// a time. Run with -race.
func TestKeyLocksNoDeadlock(t *testing.T) {
	k := newKeyLocks()
	var wg sync.WaitGroup
	inside := map[string]int{}
	var mu sync.Mutex
	for i := range 8 {
		keys := []string{"name a", "uuid b", fmt.Sprintf("name %d", i%3)}
		if i%2 == 1 {
			keys[0], keys[1] = keys[1], keys[0]
		}
		wg.Go(func() {
			for range 200 {
				unlock, err := k.lock(context.Background(), keys...)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, key := range keys {
					if inside[key]++; inside[key] > 1 {
						t.Errorf("%s held twice", key)
					}
				}
				mu.Unlock()
				mu.Lock()
				for _, key := range keys {
					inside[key]--
				}
				mu.Unlock()
				unlock()
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(time.Minute):
		t.Fatal("deadlock")
	}
	if n := k.size(); n != 0 {
		t.Errorf("%d keys left in the table", n)
	}
}

// TestWaitOwningClientGone: a create-own definition waiting for another
// of its name stops waiting when its client hangs up, though the
// definition's own ctx outlives the client.
func TestWaitOwningClientGone(t *testing.T) {
	s := &session{srv: &Server{owning: newKeyLocks()}}
	var hangUp context.CancelFunc
	s.ctx, hangUp = context.WithCancel(context.Background())
	uses := xmlpolicy.Uses{Name: "vm1", UUID: "a0000000-0000-4000-8000-000000000001"}
	unlock, err := s.waitOwning(context.Background(), xmlpolicy.Uses{Name: "vm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), time.Minute) // as defineOwn's
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.waitOwning(ctx, uses)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	hangUp()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"vm1"`) {
			t.Errorf("err %v, want the wait for vm1 cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after the client hung up")
	}
	if n := s.srv.owning.size(); n != 1 {
		t.Errorf("%d keys in the table, want the one held", n)
	}
}
