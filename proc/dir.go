// SPDX-License-Identifier: Apache-2.0

package proc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxFile bounds what is read of one /proc file; the files Lookup reads
// are a few hundred bytes to a few KiB.
const maxFile = 64 << 10

// procDir is an open /proc/PID directory. Reading its files through
// openat keeps them all the same process's, and costs a few syscalls per
// file: Lookup is on the path of every request made on another's behalf.
type procDir struct {
	fd  int
	buf []byte // scratch for read; what read returns is valid until the next call
}

func openDir(path string) (*procDir, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, noProcess(err)
	}
	return &procDir{fd: fd, buf: make([]byte, 0, 4096)}, nil
}

func (d *procDir) close() { unix.Close(d.fd) }

// read returns the whole file name, reading until end of file, in d's
// scratch buffer.
func (d *procDir) read(name string) ([]byte, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, noProcess(err)
	}
	defer unix.Close(fd)
	buf := d.buf[:0]
	defer func() { d.buf = buf[:0] }()
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxFile {
				return nil, fmt.Errorf("%s: larger than %d bytes", name, maxFile)
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, noProcess(err))
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// readID reads a loginuid or sessionid file; anything unreadable is Unset.
func (d *procDir) readID(name string) uint32 {
	data, err := d.read(name)
	if err != nil {
		return Unset
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil {
		return Unset
	}
	return uint32(v)
}

// readlink returns the target of link name, or "" if it cannot be read
// (a kernel thread, or no permission to look).
func (d *procDir) readlink(name string) string {
	buf := d.buf[:cap(d.buf)]
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// noProcess maps the errors of a process that is gone (ENOENT for its
// directory, ESRCH for files of a process that exited) to ErrNoProcess.
func noProcess(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return ErrNoProcess
	}
	return err
}
