// SPDX-License-Identifier: Apache-2.0

package limit

import "sync"

// Conns counts the connections of unprivileged users: at most perUser
// for each uid, and at most total minus reserved for all of them
// together (at least one), so that the reserved slots stay free for root
// and proxies however many users connect. Privileged connections are
// the front end's own business (its listener bounds the total).
type Conns struct {
	mu            sync.Mutex
	perUser, pool int
	inUse         int
	byUID         map[uint32]int
}

// NewConns returns the counter for a front end serving total connections,
// reserved of them for privileged callers, perUser for one uid.
func NewConns(total, reserved, perUser int) *Conns {
	c := &Conns{byUID: map[uint32]int{}}
	c.SetLimits(total, reserved, perUser)
	return c
}

// SetLimits changes the limits, as a configuration reload does. They
// apply to the connections acquired from now on; connections held
// already stay, even past the new limits, as libvirtd keeps its clients
// when its client limits are lowered (virAdmServerSetClientLimits).
func (c *Conns) SetLimits(total, reserved, perUser int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.perUser, c.pool = max(perUser, 1), max(total-reserved, 1)
}

// PerUser is the most connections one uid may hold.
func (c *Conns) PerUser() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perUser
}

// Acquire takes a slot for a connection of uid, unless uid holds perUser
// already or the unprivileged slots are all taken. Release it when the
// connection ends.
func (c *Conns) Acquire(uid uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byUID[uid] >= c.perUser || c.inUse >= c.pool {
		return false
	}
	c.byUID[uid]++
	c.inUse++
	return true
}

// Release gives back a slot Acquire took for uid.
func (c *Conns) Release(uid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byUID[uid] <= 1 {
		delete(c.byUID, uid)
	} else {
		c.byUID[uid]--
	}
	c.inUse--
}
