// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Load reads the configuration file at path, normally DefaultPath. A
// missing file is an error; errors.Is(err, fs.ErrNotExist) tells the
// caller so.
//
// Because the file can turn access control off, Load refuses a file that
// is not a regular file, that users other than its owner can write, or
// that is owned by someone other than root or the daemon's own user.
func Load(path string) (Config, error) {
	// O_NONBLOCK so that a FIFO at path cannot hang the daemon before the
	// check below refuses it; regular files ignore the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Config{}, &Error{File: path, Msg: "cannot open: " + cause(err), Err: err}
	}
	defer f.Close()
	// Check the opened file rather than the path, so it cannot be swapped.
	fi, err := f.Stat()
	if err != nil {
		return Config{}, &Error{File: path, Msg: "cannot stat: " + cause(err), Err: err}
	}
	if msg := unsafeFile(fi, os.Geteuid()); msg != "" {
		return Config{}, &Error{File: path, Msg: msg}
	}
	return Parse(f, path)
}

// unsafeFile says why fi should not be trusted by a daemon running as
// euid, or returns "".
func unsafeFile(fi fs.FileInfo, euid int) string {
	if !fi.Mode().IsRegular() {
		return fmt.Sprintf("not a regular file (mode %s)", fi.Mode())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Sprintf("writable by group or others (mode %04o); "+
			"whoever can write it can turn access control off: run chmod go-w on it", perm)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && st.Uid != 0 && int(st.Uid) != euid {
		return fmt.Sprintf("owned by uid %d, not by root or the daemon's user; "+
			"whoever owns it can turn access control off: run chown root on it", st.Uid)
	}
	return ""
}

// cause drops the path that a *fs.PathError repeats.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
