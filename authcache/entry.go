// SPDX-License-Identifier: Apache-2.0

package authcache

import (
	"sync"
	"sync/atomic"
	"time"
)

// entry is what the cache keeps per decision, 16 bytes: the answer, the
// driver as an index into the cache's few driver names, and the expiry
// as time since the cache's start. A Decision and a time.Time took 48;
// at 100,000 entries the difference is about 3 MiB of heap.
type entry struct {
	allowed bool
	driver  uint8
	expires time.Duration // since Cache.start, on the monotonic clock
}

// maxDrivers is how many driver names entries can name; a decision by
// yet another is not cached.
const maxDrivers = 256

// drivers interns the driver names of cached decisions: a handful (one
// per access driver stack), appended to, never changed.
type drivers struct {
	mu    sync.Mutex // serialises add
	names atomic.Pointer[[]string]
}

// index returns name's index, adding it if it is new; ok is false when
// the table is full.
func (d *drivers) index(name string) (i uint8, ok bool) {
	if i, ok := d.find(name); ok {
		return i, true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.find(name); ok {
		return i, true
	}
	var names []string
	if p := d.names.Load(); p != nil {
		names = *p
	}
	if len(names) == maxDrivers {
		return 0, false
	}
	grown := append(names[:len(names):len(names)], name)
	d.names.Store(&grown)
	return uint8(len(grown) - 1), true
}

func (d *drivers) find(name string) (uint8, bool) {
	if p := d.names.Load(); p != nil {
		for i, n := range *p {
			if n == name {
				return uint8(i), true
			}
		}
	}
	return 0, false
}

// name returns the driver name at index i, which index returned.
func (d *drivers) name(i uint8) string { return (*d.names.Load())[i] }
