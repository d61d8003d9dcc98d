// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"slices"
	"sync"
)

// keyLocks are mutexes named by strings, made when first wanted and
// removed when nobody holds or waits for them, so that the table holds
// only the keys in use. Create-own definitions take their domain's name
// and UUID (defineown.go): two creators of one document, or of two that
// share a name or a UUID, wait for each other; others do not. It is
// safe for concurrent use.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

// keyLock is one key's mutex: holding it is having put the token in its
// channel. users counts its holder and waiters; the last one out
// removes it from the table.
type keyLock struct {
	token chan struct{}
	users int
}

func newKeyLocks() *keyLocks {
	return &keyLocks{locks: map[string]*keyLock{}}
}

// lock takes the locks of keys, in sorted order whatever the order given,
// so that two callers sharing several keys cannot each hold one the other
// waits for. It waits until it holds them all or ctx is done; then it
// holds none and returns ctx's error. unlock releases them all.
func (k *keyLocks) lock(ctx context.Context, keys ...string) (unlock func(), err error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	held := make([]*keyLock, 0, len(keys))
	release := func() {
		for i, l := range slices.Backward(held) {
			<-l.token
			k.leave(keys[i], l)
		}
	}
	for _, key := range keys {
		l, err := k.acquire(ctx, key)
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, l)
	}
	return release, nil
}

// acquire takes key's lock, or gives up when ctx is done.
func (k *keyLocks) acquire(ctx context.Context, key string) (*keyLock, error) {
	k.mu.Lock()
	l, ok := k.locks[key]
	if !ok {
		l = &keyLock{token: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	// A done ctx never takes a free lock: select would pick at random.
	if err := ctx.Err(); err != nil {
		k.leave(key, l)
		return nil, err
	}
	select {
	case l.token <- struct{}{}:
		return l, nil
	case <-ctx.Done():
		k.leave(key, l)
		return nil, ctx.Err()
	}
}

// leave drops one user of key's lock l, and l itself with its last.
func (k *keyLocks) leave(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if l.users--; l.users == 0 {
		delete(k.locks, key)
	}
}
