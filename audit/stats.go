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

// Losses counts lost records by cause: Losses[QueueFull] is how many
// were lost to a full queue. Index 0 is no cause and stays 0.
type Losses [numCauses]uint64

// Total is the number of lost records.
func (l Losses) Total() uint64 {
	var n uint64
	for _, c := range l {
		n += c
	}
	return n
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
	lost [numCauses]atomic.Uint64 // indexed by Cause
}

func (c *counters) losses() Losses {
	var l Losses
	for i := range l {
		l[i] = c.lost[i].Load()
	}
	return l
}
