// SPDX-License-Identifier: Apache-2.0

package proc

import "golang.org/x/sys/unix"

// Held is a process read by Hold, with its /proc directory kept open.
// The directory stays bound to the process it was opened for: once that
// process has exited, whatever now has its pid, nothing can be read
// through it. So Current can tell with one readlink whether the process
// read is still there, still running the same executable, without
// reading the rest again. Close it when done.
type Held struct {
	Process
	d *procDir
}

// Hold reads process pid from the host's /proc and keeps its directory
// open.
func Hold(pid int32) (*Held, error) { return FS{Root: "/proc"}.Hold(pid) }

// Hold reads process pid, as Lookup does, and keeps its directory open.
func (fs FS) Hold(pid int32) (*Held, error) {
	d, p, err := fs.open(pid)
	if err != nil {
		return nil, err
	}
	d.buf = nil // Current needs no scratch: do not hold 4 KiB per process
	return &Held{Process: p, d: d}, nil
}

// Current reports whether the held process still runs, as the same
// effective uid, and its executable is still the one read: it has not
// exited (its pid may since name another process), not changed uid and
// not executed another program. A process whose executable could not be
// read, and one that ran as root, are never current: they are read again.
func (h *Held) Current() bool {
	if h.Exe == "" || h.UID == 0 {
		return false
	}
	// The owner of /proc/PID is the process's effective uid, whatever
	// its dumpable flag (Linux 4.11 and later; earlier kernels show root
	// for a non-dumpable process, which is never current here).
	var st unix.Stat_t
	if err := unix.Fstat(h.d.fd, &st); err != nil || st.Uid != h.UID {
		return false
	}
	// One byte more than the path: a longer target fills it.
	buf := make([]byte, len(h.Exe)+1)
	n, err := unix.Readlinkat(h.d.fd, "exe", buf)
	return err == nil && n == len(h.Exe) && string(buf[:n]) == h.Exe
}

// Close closes the process's directory.
func (h *Held) Close() { h.d.close() }
