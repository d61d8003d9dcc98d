package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/coreos/go-systemd/v22/activation"
)

// FDName is the FileDescriptorName= of the socket unit's varlink socket.
const FDName = "varlink"

// activated returns the listening sockets systemd passed, named FDName.
// Unlike activation.ListenersWithNames it fails, naming the descriptor,
// when a passed descriptor is not a UNIX stream listener or has another
// name, rather than dropping it silently: a misconfigured unit should stop
// the service, not leave it deaf.
func activated() ([]net.Listener, error) {
	files := activation.Files(true)
	var ls []net.Listener
	for _, f := range files {
		l, err := unixListener(f)
		f.Close() // the listener holds its own descriptor
		if err != nil {
			closeAll(ls)
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func unixListener(f *os.File) (net.Listener, error) {
	if f.Name() != FDName {
		return nil, fmt.Errorf("socket activation passed descriptor %d named %q; want FileDescriptorName=%s", f.Fd(), f.Name(), FDName)
	}
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
