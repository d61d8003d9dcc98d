// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"
	"net"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// wire is one end of a libvirt RPC connection on a UNIX socket, with file
// descriptor passing as libvirt does it (src/util/virsocket.c
// virSocketSendFD/virSocketRecvFD): after a message of type
// CALL_WITH_FDS or REPLY_WITH_FDS, each descriptor travels as its own
// 1-byte sendmsg with SCM_RIGHTS. One goroutine reads; writes are
// serialised, a message and its descriptors together.
type wire struct {
	c   *net.UnixConn
	wmu sync.Mutex
}

func newWire(c *net.UnixConn) *wire { return &wire{c: c} }

// read reads one message and the descriptors that follow it. The frame is
// read with reads of exactly its size, so the bytes carrying descriptors
// are read only here, with recvmsg. On error, descriptors already
// received are closed.
func (w *wire) read() (*frame.Message, []int, error) {
	m, err := frame.Read(w.c)
	if err != nil {
		return nil, nil, err
	}
	if !m.Header.Type.HasFDs() || m.NumFDs == 0 {
		return m, nil, nil
	}
	fds := make([]int, 0, m.NumFDs)
	for range m.NumFDs {
		fd, err := w.recvFD()
		if err != nil {
			closeFDs(fds)
			return nil, nil, fmt.Errorf("%s serial %d: fd %d of %d: %w", m.Header.Type, m.Header.Serial, len(fds)+1, m.NumFDs, err)
		}
		fds = append(fds, fd)
	}
	return m, fds, nil
}

func (w *wire) recvFD() (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := w.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	if n != 1 {
		return -1, fmt.Errorf("connection closed before the descriptor")
	}
	cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for _, c := range cmsgs {
		rights, err := unix.ParseUnixRights(&c)
		if err == nil {
			fds = append(fds, rights...)
		}
	}
	if len(fds) != 1 {
		closeFDs(fds)
		return -1, fmt.Errorf("got %d descriptors with one byte, want 1", len(fds))
	}
	return fds[0], nil
}

// write writes m and then each of fds (m.NumFDs must match).
func (w *wire) write(m *frame.Message, fds []int) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if _, err := w.c.Write(b); err != nil {
		return fmt.Errorf("write %s serial %d: %w", m.Header.Type, m.Header.Serial, err)
	}
	for i, fd := range fds {
		if _, _, err := w.c.WriteMsgUnix([]byte{0}, unix.UnixRights(fd), nil); err != nil {
			return fmt.Errorf("send fd %d of %d: %w", i+1, len(fds), err)
		}
	}
	return nil
}

func (w *wire) close() error { return w.c.Close() }

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
