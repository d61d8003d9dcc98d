// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The calls of a session in flight: their serials (claim, release) and
// the slots their decisions take (startDecision).

// maxWaiting bounds the bytes of the calls read and waiting for a
// decision slot: enough for thousands of small calls, so that a client
// pipelining past MaxPending still has its keepalive PINGs read and
// answered, and little next to the calls being decided.
const maxWaiting = 1 << 20

// startDecision runs decide, the decision of a call, on its own
// goroutine, at most MaxPending at once. When that many run, the call
// waits for a slot off the client's reader while the calls waiting hold
// at most maxWaiting bytes, so that the reader goes on answering PINGs:
// libvirt's clients drop a connection whose PINGs go unanswered for 30 s
// (keepalive_interval 5, keepalive_count 5), and slow polkit answers can
// hold every slot that long. Past maxWaiting the reader itself waits, as
// libvirtd stops reading a client at max_client_requests
// (virnetserverclient.c).
func (s *session) startDecision(bodySize int, fds []int, decide func()) error {
	run := func() {
		defer func() { <-s.sem }()
		decide()
	}
	select {
	case s.sem <- struct{}{}:
		s.spawn(run)
		return nil
	default:
	}
	size := bodySize + 1 // an empty call counts too
	s.mu.Lock()
	park := s.waiting+size <= maxWaiting
	if park {
		s.waiting += size
	}
	s.mu.Unlock()
	if park {
		s.spawn(func() {
			ok := s.acquireSlot()
			s.mu.Lock()
			s.waiting -= size
			s.mu.Unlock()
			if !ok {
				closeFDs(fds)
				return
			}
			run()
		})
		return nil
	}
	if !s.acquireSlot() {
		closeFDs(fds)
		return errClosed
	}
	s.spawn(run)
	return nil
}

// acquireSlot waits for a decision slot; false if the session ended first.
func (s *session) acquireSlot() bool {
	select {
	case s.sem <- struct{}{}:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// claim puts a call's serial in flight. A serial already in flight is a
// protocol violation no libvirt client commits (virNetClientProgram
// numbers its calls): the connection is closed, and the refusal audited.
// Answering the duplicate with an error instead would carry the in-flight
// call's serial, so the client would take it for that call's reply.
func (s *session) claim(h frame.Header) error {
	s.mu.Lock()
	_, dup := s.pending[h.Serial]
	if !dup {
		s.pending[h.Serial] = &pendingCall{prog: h.Prog, proc: h.Proc}
	}
	s.mu.Unlock()
	if !dup {
		return nil
	}
	err := fmt.Errorf("serial %d is already in flight", h.Serial)
	p, _ := s.srv.table.Lookup(proto.Program(h.Prog), h.Proc)
	s.checker().refuse(s.ctx, callOrigin(h, p), aclNone, objNone, err)
	return err
}

// release ends a serial's time in flight: its reply is decided and about
// to be written, so a call reusing the serial from now on is a new call.
func (s *session) release(serial uint32) {
	s.mu.Lock()
	delete(s.pending, serial)
	s.mu.Unlock()
}
