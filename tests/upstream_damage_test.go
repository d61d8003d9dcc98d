// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// damagingUpstream stands between the guard and libvirtd's socket at
// real, as a libvirtd whose messages are not what the protocol says
// would: it passes the guard's messages on unchanged, and libvirtd's
// after damage, which changes a message in place (or leaves it). It
// returns the socket the guard should take for libvirtd's. Messages
// with file descriptors do not pass (the tests using it need none).
func damagingUpstream(t *testing.T, real string, damage func(*frame.Message)) string {
	t.Helper()
	path := filepath.Join(guardDir(t), "libvirt-sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go relayDamaged(t, c, real, damage)
		}
	}()
	return path
}

// relayDamaged relays one guard connection c to libvirtd at real.
func relayDamaged(t *testing.T, c net.Conn, real string, damage func(*frame.Message)) {
	defer c.Close()
	up, err := net.Dial("unix", real)
	if err != nil {
		t.Errorf("damaging upstream: %v", err)
		return
	}
	defer up.Close()
	go func() {
		io.Copy(up, c)
		up.Close()
	}()
	for {
		m, err := frame.Read(up)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.Logf("damaging upstream: reading libvirtd: %v", err)
			}
			return
		}
		damage(m)
		if err := frame.Write(c, m); err != nil {
			return
		}
	}
}
