// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// clientStream forwards a stream packet of a stream whose opening the
// guard allowed; others are dropped, as libvirtd drops packets of streams
// it no longer has.
func (s *session) clientStream(m *frame.Message) error {
	h := m.Header
	k := streamKey{h.Prog, h.Proc, h.Serial}
	s.mu.Lock()
	sparse, ok := s.streams[k]
	if ok && h.Status != frame.Continue {
		delete(s.streams, k) // the client finished or aborted it
		s.closing[k] = true
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.warn("stream packet dropped", fmt.Errorf("no allowed stream has procedure %d serial %d", h.Proc, h.Serial))
		return nil
	case h.Type == frame.StreamHole && !sparse:
		// Dropping the hole would shift the data after it, silently; the
		// session ends instead, as libvirtd closes a client that sends one
		// (daemonStreamHandleHole).
		return fmt.Errorf("STREAM_HOLE on a stream not opened sparse (procedure %d)", h.Proc)
	}
	return s.up.write(m, nil)
}

// upstreamStream passes libvirtd's stream packet on to the client. After
// an error packet libvirtd has dropped the stream and the client sends
// no more on it: the guard forgets it too, so that a session of failed
// streams does not grow the table.
func (s *session) upstreamStream(m *frame.Message) error {
	h := m.Header
	k := streamKey{h.Prog, h.Proc, h.Serial}
	s.mu.Lock()
	if h.Status == frame.Error {
		delete(s.streams, k)
	}
	if h.Status != frame.Continue {
		delete(s.closing, k) // libvirtd's answer to the client's finish or abort
	}
	s.mu.Unlock()
	return s.client.write(m, nil)
}

// streamErrorReply says whether h, a reply of libvirtd's to no call in
// flight, is the error libvirtd answers on a stream when finishing,
// aborting or punching a hole fails (virNetServerProgramSendReplyError
// with the stream's header); then the stream is over. Called with s.mu
// held.
func (s *session) streamErrorReply(h frame.Header) bool {
	k := streamKey{h.Prog, h.Proc, h.Serial}
	_, open := s.streams[k]
	if h.Type != frame.Reply || h.Status != frame.Error || !(open || s.closing[k]) {
		return false
	}
	delete(s.streams, k)
	delete(s.closing, k)
	return true
}
