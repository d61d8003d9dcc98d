// SPDX-License-Identifier: Apache-2.0

package listener

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/activation"
)

// Names says which sockets a service serves.
type Names struct {
	// Served are the FileDescriptorName= values of its sockets.
	Served []string
	// Lone is the name a single descriptor passed without a name of its
	// own stands for (systemd-socket-activate -l PATH without --fdname).
	Lone string
}

// Activated returns the listening sockets systemd passed, by the name of
// the socket each serves; none when the service was not socket-activated.
// It fails, naming the descriptor, when one is not a UNIX stream
// listener, has no name among several, or has a name not in n.Served.
// On error every descriptor passed is closed.
func Activated(n Names) (map[string][]net.Listener, error) {
	files := activation.Files(true)
	ls := map[string][]net.Listener{}
	for _, f := range files {
		name, err := n.of(f.Fd(), f.Name(), len(files))
		var l net.Listener
		if err == nil {
			l, err = unixListener(f)
		}
		f.Close() // the listener holds its own descriptor
		if err != nil {
			for _, group := range ls {
				CloseAll(group)
			}
			return nil, err
		}
		ls[name] = append(ls[name], l)
	}
	return ls, nil
}

// of returns the socket descriptor fd, named name, one of count passed,
// stands for.
func (n Names) of(fd uintptr, name string, count int) (string, error) {
	want := strings.Join(n.Served, " or ")
	switch {
	case slices.Contains(n.Served, name):
		return name, nil
	case unnamed(name) && count == 1:
		return n.Lone, nil
	case unnamed(name):
		return "", fmt.Errorf("socket activation passed %d descriptors and descriptor %d has no name (%q) to tell which it is; set FileDescriptorName= (%s) on each socket", count, fd, name, want)
	}
	return "", fmt.Errorf("socket activation passed descriptor %d named %q, which no front end serves; want FileDescriptorName=%s", fd, name, want)
}

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

// Listen listens on a UNIX socket at path, making its directory if
// needed and replacing a stale socket but never another kind of file,
// with mode 0666: the services on these sockets identify every client by
// its credentials (SO_PEERCRED) and decide what it may do themselves.
func Listen(path string) (net.Listener, error) {
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

// CloseAll closes every listener in ls.
func CloseAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}
