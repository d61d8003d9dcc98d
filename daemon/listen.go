// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/activation"
)

// FDName is the FileDescriptorName= of the socket unit's varlink socket.
const FDName = "varlink"

// activated returns the listening sockets systemd passed (sd_listen_fds(3)),
// by the name of the front end serving them. As systemd's convention has
// it, a single descriptor without a name of its own is the varlink socket,
// and names tell several apart. Unlike activation.ListenersWithNames it
// fails, naming the descriptor, when one is not a UNIX stream listener, has
// no name among several, or has a name no front end serves, rather than
// dropping it silently: a misconfigured unit should stop the service, not
// leave it deaf.
func activated() (map[string][]net.Listener, error) {
	files := activation.Files(true)
	ls := map[string][]net.Listener{}
	for _, f := range files {
		name, err := frontEnd(f.Fd(), f.Name(), len(files))
		var l net.Listener
		if err == nil {
			l, err = unixListener(f)
		}
		f.Close() // the listener holds its own descriptor
		if err != nil {
			for _, group := range ls {
				closeAll(group)
			}
			return nil, err
		}
		ls[name] = append(ls[name], l)
	}
	return ls, nil
}

// frontEnd returns the front end serving descriptor fd, named name, one of
// n passed.
func frontEnd(fd uintptr, name string, n int) (string, error) {
	switch {
	case served(name):
		return name, nil
	case unnamed(name) && n == 1:
		return FDName, nil
	case unnamed(name):
		return "", fmt.Errorf("socket activation passed %d descriptors and descriptor %d has no name (%q) to tell which it is; set FileDescriptorName=%s on the varlink socket", n, fd, name, FDName)
	}
	return "", fmt.Errorf("socket activation passed descriptor %d named %q, which no front end serves; want FileDescriptorName=%s", fd, name, FDName)
}

// served reports whether name is the FileDescriptorName= of a socket one
// of the daemon's front ends serves.
func served(name string) bool { return name == FDName }

// unnamed reports whether name is what a descriptor is called when it was
// given none: go-systemd's LISTEN_FD_<n> when LISTEN_FDNAMES does not name
// it (systemd-socket-activate without --fdname), systemd's default, the
// socket unit's own name, when the unit has no FileDescriptorName=, and
// libsystemd's "unknown".
func unnamed(name string) bool {
	return name == "" || name == "unknown" || strings.HasPrefix(name, "LISTEN_FD_") || strings.HasSuffix(name, ".socket")
}

func unixListener(f *os.File) (net.Listener, error) {
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("socket activation descriptor %d (%s) is not a listening socket: %w", f.Fd(), f.Name(), err)
	}
	if _, ok := l.(*net.UnixListener); !ok {
		l.Close()
		return nil, fmt.Errorf("socket activation descriptor %d (%s) is not a UNIX stream socket", f.Fd(), f.Name())
	}
	return l, nil
}

// listenPath listens on a UNIX socket at path, replacing a stale socket
// but never another kind of file, with mode 0666 so every local user can
// ask about themselves.
func listenPath(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listen on %s: a file that is not a socket is in the way", path)
		}
		if inUse(path) {
			return nil, fmt.Errorf("listen on %s: another daemon is serving it", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}

// inUse reports whether something accepts connections on the socket. Only
// a refused connection proves the socket stale.
func inUse(path string) bool {
	c, err := net.Dial("unix", path)
	if err == nil {
		c.Close()
		return true
	}
	return !errors.Is(err, syscall.ECONNREFUSED)
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}
