// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// refuseMalformed answers a call the guard cannot decode or does not
// know with an RPC error, audits the refusal and logs it (rate-limited).
func (s *session) refuseMalformed(h frame.Header, p *proto.Procedure, cause error) error {
	s.spawnRefusal(h, p, cause, malformed(cause.Error()))
	return nil
}

// spawnRefusal audits a refusal and answers it, off the client's reader:
// with reply, or with access denied when reply is nil. Every call the
// guard answers itself with an error passes here, so that each leaves
// an audit record.
func (s *session) spawnRefusal(h frame.Header, p *proto.Procedure, cause error, reply *frame.ErrorBody) {
	s.startDecision(0, nil, func() {
		eb := s.checker().refuse(s.ctx, callOrigin(h, p), aclNone, objNone, cause)
		if reply != nil {
			eb = reply
		}
		s.replyError(h, eb)
	})
}

// callOrigin names a call in audit records: its procedure, or for an
// unknown one its program and number.
func callOrigin(h frame.Header, p *proto.Procedure) access.Origin {
	origin := originOf(p)
	if p == nil {
		origin.Operation = fmt.Sprintf("program-%#x-procedure-%d", h.Prog, h.Proc)
	}
	return origin
}

func (s *session) replyOK(call frame.Header, ret proto.Message) error {
	s.release(call.Serial)
	body, err := proto.Marshal(ret)
	if err != nil {
		return err
	}
	h := call
	h.Type, h.Status = frame.Reply, frame.OK
	return s.client.write(&frame.Message{Header: h, Body: body}, nil)
}

func (s *session) replyError(call frame.Header, eb *frame.ErrorBody) error {
	m, err := frame.ErrorReply(call, eb)
	if err != nil {
		return err
	}
	m.Header.Type = frame.Reply
	m.NumFDs = 0
	s.release(call.Serial)
	if err := s.client.write(m, nil); err != nil {
		s.shutdown()
		return err
	}
	return nil
}
