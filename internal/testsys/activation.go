// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"net"
	"os"
	"testing"
)

// ListenerFile listens on a UNIX socket at path and returns its
// descriptor, to pass to a child as systemd passes a socket (ExtraFiles,
// LISTEN_FDS); the socket file stays for the child to serve. The
// descriptor is closed at cleanup.
func ListenerFile(t testing.TB, path string) *os.File {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	t.Cleanup(func() { f.Close() })
	return f
}
