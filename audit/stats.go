// SPDX-License-Identifier: Apache-2.0

package audit

import "sync/atomic"

// Stats are a Writer's counters since Open.
type Stats struct {
	Level Level
	// Sent counts records the kernel accepted.
	Sent uint64
	// Lost counts records that were not written, by cause.
	Lost Losses
	// Queued is how many records wait for the kernel (at level Required,
	// with those whose callers wait for room); QueueCap the most that
	// may (level Auto).
	Queued, QueueCap int
	// KernelLost is how far the kernel's own lost counter (auditctl -s) rose
	// since Open: records the kernel accepted and then dropped, for example
	// when auditd stopped reading. It counts every process's records, not
	// only ours. Zero when the status cannot be read.
	KernelLost uint64
	// Status is the kernel's audit status as last read, every
	// Config.StatusInterval.
	Status Status
}

// Losses counts lost records by cause.
type Losses struct {
	Unavailable, Refused, Disabled, QueueFull, Netlink, Timeout, Closed uint64
}

// ByCause maps each cause with losses (Cause.String) to its count.
func (l Losses) ByCause() map[Cause]uint64 {
	out := map[Cause]uint64{}
	for c, n := range map[Cause]uint64{Unavailable: l.Unavailable, Refused: l.Refused, Disabled: l.Disabled,
		QueueFull: l.QueueFull, Netlink: l.Netlink, Timeout: l.Timeout, Closed: l.Closed} {
		if n > 0 {
			out[c] = n
		}
	}
	return out
}

// Total is the number of lost records.
func (l Losses) Total() uint64 {
	return l.Unavailable + l.Refused + l.Disabled + l.QueueFull + l.Netlink + l.Timeout + l.Closed
}

// Status is what the kernel says of its audit subsystem.
type Status struct {
	// Known is false when the status cannot be read: reading it needs
	// CAP_AUDIT_CONTROL, which a writer does not otherwise need.
	Known bool
	// Enabled is 0 (off), 1 (on) or 2 (on and locked).
	Enabled uint32
	// Daemon is auditd's pid, 0 when no audit daemon is registered: records
	// then go to the kernel log and wait in a bounded hold queue.
	Daemon uint32
	// Backlog is the number of records waiting for the daemon, and
	// BacklogLimit the kernel's limit (auditctl -b).
	Backlog, BacklogLimit uint32
}

// counters are updated by many goroutines.
type counters struct {
	sent atomic.Uint64
	lost [Closed + 1]atomic.Uint64 // indexed by Cause
}

func (c *counters) losses() Losses {
	return Losses{
		Unavailable: c.lost[Unavailable].Load(),
		Refused:     c.lost[Refused].Load(),
		Disabled:    c.lost[Disabled].Load(),
		QueueFull:   c.lost[QueueFull].Load(),
		Netlink:     c.lost[Netlink].Load(),
		Timeout:     c.lost[Timeout].Load(),
		Closed:      c.lost[Closed].Load(),
	}
}
