// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// TestWireFDs passes descriptors as libvirt does, one 1-byte sendmsg
// each after the message, and reads them back with the message after it.
func TestWireFDs(t *testing.T) {
	a, b := wirePair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	m := &frame.Message{Header: frame.Header{Prog: 0x20008086, Vers: 1, Proc: 343, Type: frame.ReplyWithFDs, Serial: 3}, NumFDs: 2, Body: []byte{0, 0, 0, 0}}
	next := &frame.Message{Header: frame.Header{Prog: 0x20008086, Vers: 1, Proc: 2, Type: frame.Reply, Serial: 4}}
	go func() {
		a.write(m, []int{int(w.Fd()), int(r.Fd())})
		a.write(next, nil)
	}()
	got, fds, err := b.read()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFDs(fds)
	if got.Header != m.Header || len(fds) != 2 {
		t.Fatalf("read %+v with %d fds", got.Header, len(fds))
	}
	if _, err := unix.Write(fds[0], []byte("x")); err != nil {
		t.Fatalf("passed write end: %v", err)
	}
	buf := make([]byte, 1)
	if n, err := r.Read(buf); n != 1 || buf[0] != 'x' {
		t.Fatalf("pipe: %d %v", n, err)
	}
	if got, fds, err := b.read(); err != nil || got.Header != next.Header || fds != nil {
		t.Fatalf("next message: %+v %v %v", got, fds, err)
	}
}

// wirePair returns the two ends of a connected pair of UNIX sockets,
// closed at the test's end.
func wirePair(t *testing.T) (*wire, *wire) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ends [2]*wire
	for i, fd := range pair {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ends[i] = newWire(c.(*net.UnixConn))
	}
	return ends[0], ends[1]
}
