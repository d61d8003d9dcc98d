// SPDX-License-Identifier: Apache-2.0

package identity

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// ErrMismatch means a process is not the one its caller's credentials or
// pins describe: another uid, or another start time (its pid was reused).
var ErrMismatch = errors.New("process does not match")

// ErrUnpinned means a caller named a process other than itself without
// the uid it must have. Without that pin the process could have become
// another user (a setuid-root program it executed) since the caller got
// its credentials, and the question would be about that user.
var ErrUnpinned = errors.New("a process other than the caller must be pinned by uid")

// ErrForeignNamespace means a caller in another pid namespace than ours
// (a container, unshare --pid) named a process by pid: its pids name
// other processes here, so the name is refused rather than misread.
var ErrForeignNamespace = errors.New("pid named from another pid namespace")

// Resolver reads the processes that credentials and pins name. The zero
// value reads the host's /proc. It is safe for concurrent use.
type Resolver struct {
	// Lookup reads a process; nil means proc.Lookup.
	Lookup func(pid int32) (proc.Process, error)
	// NSDepth is the proc.Process.NSDepth of the resolving process
	// itself; 0 means read it from /proc once. A caller deeper than
	// that is in a pid namespace nested below ours.
	NSDepth int
}

// ownNSDepth is this process's depth, read once. If it cannot be read
// it is 0, and every caller whose depth is known counts as foreign:
// naming other processes then fails closed.
var ownNSDepth = sync.OnceValue(func() int {
	p, err := proc.Lookup(int32(os.Getpid()))
	if err != nil {
		return 0
	}
	return p.NSDepth
})

func (r Resolver) nsDepth() int {
	if r.NSDepth != 0 {
		return r.NSDepth
	}
	return ownNSDepth()
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

// Pin names a process as a caller may: by pid, the uid it must have and,
// optionally, its start time (field 22 of /proc/PID/stat). The uid is
// the one the caller got from the process's own socket credentials
// (SO_PEERCRED): it is what the question is about. The start time pins
// the process against its pid being reused.
type Pin struct {
	PID       int32
	UID       *int64 // required for any process but the caller; a value no uid has matches no process
	StartTime *uint64
}

// Pinned returns the process pin names: self when pin names self's pid
// (the uid and start time are then optional), else the process read from
// /proc now, which must have the pinned uid, and the pinned start time
// when one is given.
//
// The process returned carries the pinned uid, and that is the uid a
// decision about it must use (polkit judges the uid it is sent): if the
// process executes a setuid program after this check, the question stays
// about the user the caller vouched for, not about root.
//
// It fails with ErrForeignNamespace when self is in a pid namespace
// nested below ours (its pids are not ours), ErrUnpinned when another
// process is named without a uid, ErrMismatch when the process does not
// have the pinned uid or start time, and proc.ErrNoProcess (or another
// read error) when it cannot be read.
func (r Resolver) Pinned(self proc.Process, pin Pin) (proc.Process, error) {
	return r.PinnedSeen(self, pin, nil)
}

// PinnedSeen is Pinned for a caller whose earlier reads seen keeps: a
// process pinned by start time is reused from it while it may be (see
// Seen), with the same checks. A nil seen, a pin without a start time,
// or a Resolver with its own Lookup reads /proc every time.
func (r Resolver) PinnedSeen(self proc.Process, pin Pin, seen *Seen) (proc.Process, error) {
	if pin.PID == self.PID {
		if pin.UID != nil && *pin.UID != int64(self.UID) || pin.StartTime != nil && *pin.StartTime != self.StartTime {
			return proc.Process{}, fmt.Errorf("%w: process %d is not the one pinned", ErrMismatch, pin.PID)
		}
		return self, nil
	}
	if self.NSDepth > r.nsDepth() {
		return proc.Process{}, fmt.Errorf("%w: process %d is in a pid namespace below ours and named pid %d", ErrForeignNamespace, self.PID, pin.PID)
	}
	if pin.UID == nil {
		return proc.Process{}, fmt.Errorf("%w: process %d named without a uid", ErrUnpinned, pin.PID)
	}
	var p proc.Process
	var err error
	if seen != nil && pin.StartTime != nil && r.Lookup == nil {
		p, err = seen.lookup(pin.PID, *pin.StartTime)
	} else {
		p, err = r.lookup(pin.PID)
	}
	if err != nil {
		return proc.Process{}, err
	}
	if *pin.UID != int64(p.UID) || pin.StartTime != nil && *pin.StartTime != p.StartTime {
		return proc.Process{}, fmt.Errorf("%w: process %d is not the one pinned", ErrMismatch, pin.PID)
	}
	p.UID = uint32(*pin.UID)
	return p, nil
}
