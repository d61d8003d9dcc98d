// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"fmt"
	"math"

	"github.com/godbus/dbus/v5"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// A Subject is a process, identified as polkit's unix-process subject.
// The start time guards against the pid being reused by another process
// (polkitd checks it); the pair still has known races (CVE-2013-4288,
// CVE-2019-6133) that only the pidfd form of polkit >= 124 closes.
//
// polkitd judges the subject as the user UID names without comparing it
// with the process's own uid (seen with polkit 122): the caller vouches for
// it. Take PID and UID from the peer's socket credentials (SO_PEERCRED), as
// libvirt does, never from anything the peer says.
type Subject struct {
	PID       uint32
	StartTime uint64 // field 22 of /proc/PID/stat: clock ticks after boot
	UID       uint32
}

// ProcessSubject names process p to polkit, as libvirt names its client:
// by pid, start time and uid. p must come from the kernel (package
// identity), not from what a client says.
func ProcessSubject(p proc.Process) Subject {
	return Subject{PID: uint32(p.PID), StartTime: p.StartTime, UID: p.UID}
}

// String describes the subject for logs.
func (s Subject) String() string {
	return fmt.Sprintf("unix-process pid=%d start-time=%d uid=%d", s.PID, s.StartTime, s.UID)
}

// validate rejects subjects polkit would misread: pid 0 is no process, and
// the uid travels as int32, where -1 would mean "look it up".
func (s Subject) validate() error {
	if s.PID == 0 {
		return fmt.Errorf("invalid subject %s: pid 0", s)
	}
	if s.UID > math.MaxInt32 {
		return fmt.Errorf("invalid subject %s: uid does not fit polkit's int32", s)
	}
	return nil
}

// wireSubject is the D-Bus form (sa{sv}) of a subject.
type wireSubject struct {
	Kind    string
	Details map[string]dbus.Variant
}

// wire encodes the subject with the D-Bus types libvirt uses: pid uint32,
// start-time uint64, uid int32.
func (s Subject) wire() wireSubject {
	return wireSubject{
		Kind: "unix-process",
		Details: map[string]dbus.Variant{
			"pid":        dbus.MakeVariant(s.PID),
			"start-time": dbus.MakeVariant(s.StartTime),
			"uid":        dbus.MakeVariant(int32(s.UID)),
		},
	}
}
