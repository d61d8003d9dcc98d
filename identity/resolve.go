// SPDX-License-Identifier: Apache-2.0

package identity

import (
	"errors"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// ErrMismatch means a process is not the one its caller's credentials or
// pins describe: another uid, or another start time (its pid was reused).
var ErrMismatch = errors.New("process does not match")

// Resolver reads the processes that credentials and pins name. The zero
// value reads the host's /proc. It is safe for concurrent use.
type Resolver struct {
	// Lookup reads a process; nil means proc.Lookup.
	Lookup func(pid int32) (proc.Process, error)
}

func (r Resolver) lookup(pid int32) (proc.Process, error) {
	if r.Lookup == nil {
		return proc.Lookup(pid)
	}
	return r.Lookup(pid)
}

// Caller returns the process at the other end of a connection, read once,
// right after accept, so that its start time names it to polkit. A peer
// that cannot be read (gone already, in another pid namespace) or whose
// uid is no longer the one it connected with is refused: the pid may have
// been reused by another user's process.
func (r Resolver) Caller(c Cred) (proc.Process, error) {
	if c.PID <= 0 {
		return proc.Process{}, errors.New("peer pid unknown (another pid namespace?)")
	}
	p, err := r.lookup(c.PID)
	if err != nil {
		return proc.Process{}, fmt.Errorf("read peer process: %w", err)
	}
	if p.UID != c.UID {
		return proc.Process{}, fmt.Errorf("%w: peer process %d has uid %d, but connected as uid %d", ErrMismatch, c.PID, p.UID, c.UID)
	}
	return p, nil
}

// Pin names a process as a caller may: by pid and, optionally, the uid
// and start time (field 22 of /proc/PID/stat) it must have, which pins it
// against the pid being reused.
type Pin struct {
	PID       int32
	UID       *int64 // a value no uid has matches no process
	StartTime *uint64
}

// Pinned returns the process pin names: self when pin names self's pid,
// else the process read from /proc now. It fails with ErrMismatch when
// the process does not have the pinned uid or start time, and with
// proc.ErrNoProcess (or another read error) when it cannot be read.
func (r Resolver) Pinned(self proc.Process, pin Pin) (proc.Process, error) {
	p := self
	if pin.PID != self.PID {
		var err error
		if p, err = r.lookup(pin.PID); err != nil {
			return proc.Process{}, err
		}
	}
	if pin.UID != nil && *pin.UID != int64(p.UID) || pin.StartTime != nil && *pin.StartTime != p.StartTime {
		return proc.Process{}, fmt.Errorf("%w: process %d is not the one pinned", ErrMismatch, pin.PID)
	}
	return p, nil
}
