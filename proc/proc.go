// SPDX-License-Identifier: Apache-2.0

// Package proc reads what access control needs to know about a local
// process from /proc: its uid, its start time (which, with the pid, names
// one process for polkit), its login uid and audit session, and its
// executable.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Unset is the value the kernel uses for a login uid or audit session that
// was never set (4294967295, shown as "unset" by ausearch -i).
const Unset = ^uint32(0)

// Process describes one process.
type Process struct {
	PID       int32
	UID       uint32 // effective uid, as SO_PEERCRED reports it
	StartTime uint64 // clock ticks after boot: field 22 of /proc/PID/stat
	LoginUID  uint32 // audit login uid; Unset if none
	Session   uint32 // audit session id; Unset if none
	Exe       string // executable path; "" if it cannot be read
	// NSDepth is how many pid namespaces the process's pid is visible
	// in, from the one /proc belongs to down to its own: the number of
	// values on the NSpid line of /proc/PID/status. 1 means the
	// process is in /proc's pid namespace; more, in a namespace nested
	// below it, where its pids name other processes. 0 when the kernel
	// does not say (before Linux 4.1).
	NSDepth int
}

// ErrNoProcess means the process does not exist (or exited while being read).
var ErrNoProcess = errors.New("no such process")

// FS reads processes from a proc file system mounted at Root.
type FS struct{ Root string }

// Lookup reads process pid from the host's /proc.
func Lookup(pid int32) (Process, error) { return FS{Root: "/proc"}.Lookup(pid) }

// Lookup reads process pid. Every file is read through one handle on the
// process's /proc directory, which stays bound to that process: if it
// exits and its pid is reused meanwhile, the reads fail instead of mixing
// two processes.
func (fs FS) Lookup(pid int32) (Process, error) {
	d, p, err := fs.open(pid)
	if err != nil {
		return Process{}, err
	}
	d.close()
	return p, nil
}

// open opens process pid's /proc directory and reads the process
// through it; the caller closes the directory (Lookup) or keeps it
// (Hold).
func (fs FS) open(pid int32) (*procDir, Process, error) {
	if pid <= 0 {
		return nil, Process{}, fmt.Errorf("process %d: invalid pid", pid)
	}
	d, err := openDir(filepath.Join(fs.Root, strconv.Itoa(int(pid))))
	if err != nil {
		return nil, Process{}, fmt.Errorf("process %d: %w", pid, err)
	}
	p, err := d.process()
	if err != nil {
		d.close()
		return nil, Process{}, fmt.Errorf("process %d: %w", pid, err)
	}
	p.PID = pid
	return d, p, nil
}

func (d *procDir) process() (Process, error) {
	stat, err := d.read("stat")
	if err != nil {
		return Process{}, err
	}
	start, err := startTime(stat)
	if err != nil {
		return Process{}, err
	}
	status, err := d.read("status")
	if err != nil {
		return Process{}, err
	}
	uid, err := effectiveUID(status)
	if err != nil {
		return Process{}, err
	}
	return Process{
		UID:       uid,
		NSDepth:   nsDepth(status),
		StartTime: start,
		LoginUID:  d.readID("loginuid"),
		Session:   d.readID("sessionid"),
		Exe:       d.readlink("exe"),
	}, nil
}

// startTime returns field 22 of the stat file. The command name (field 2)
// may hold spaces and parentheses, so fields are counted after the last ')'.
func startTime(data []byte) (uint64, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat file")
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("malformed stat file: %d fields after the command name", len(fields))
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed start time in stat file: %w", err)
	}
	return v, nil
}

// effectiveUID returns the second value of the Uid: line of the status file.
func effectiveUID(data []byte) (uint32, error) {
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		ids := strings.Fields(rest)
		if len(ids) < 2 {
			break
		}
		uid, err := strconv.ParseUint(ids[1], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("malformed Uid line in status file: %w", err)
		}
		return uint32(uid), nil
	}
	return 0, fmt.Errorf("no Uid line in status file")
}

// nsDepth counts the values of the NSpid: line of the status file.
func nsDepth(data []byte) int {
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			return len(strings.Fields(rest))
		}
	}
	return 0
}
