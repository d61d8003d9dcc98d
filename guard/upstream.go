// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

var (
	aclNone acl.Permission
	objNone acl.Object
)

func originOf(p *proto.Procedure) access.Origin {
	if p == nil {
		return access.Origin{FrontEnd: FrontEnd}
	}
	return access.Origin{FrontEnd: FrontEnd, Operation: p.Name()}
}

// upstreamLoop reads libvirtd's messages: replies go to their calls,
// events and stream packets to the client, PINGs are answered here.
func (s *session) upstreamLoop() {
	defer s.shutdown()
	for {
		m, fds, err := s.up.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && s.ctx.Err() == nil {
				s.warn("libvirtd connection failed", err)
			}
			return
		}
		if err := s.fromUpstream(m, fds); err != nil {
			s.warn("libvirtd connection dropped", err)
			return
		}
	}
}

func (s *session) fromUpstream(m *frame.Message, fds []int) error {
	h := m.Header
	if err := h.Check(); err != nil {
		closeFDs(fds)
		return err
	}
	if h.Prog == frame.KeepaliveProgram {
		return keepalive(s.up, h, fds)
	}
	switch h.Type {
	case frame.Reply, frame.ReplyWithFDs:
		s.mu.Lock()
		pc := s.pending[h.Serial]
		if pc == nil || pc.onReply == nil || pc.prog != h.Prog || pc.proc != h.Proc {
			s.mu.Unlock()
			closeFDs(fds)
			s.warn("reply dropped", fmt.Errorf("libvirtd replied to no call in flight: program %#x procedure %d serial %d", h.Prog, h.Proc, h.Serial))
			return nil
		}
		delete(s.pending, h.Serial)
		s.mu.Unlock()
		pc.onReply(m, fds)
		return nil
	case frame.Event:
		closeFDs(fds)
		return s.queueEvent(m)
	case frame.Stream, frame.StreamHole:
		// libvirtd sends stream packets only for streams whose opening
		// call the guard allowed.
		closeFDs(fds)
		return s.client.write(m, nil)
	}
	closeFDs(fds)
	return fmt.Errorf("unexpected %s message from libvirtd", h.Type)
}

// open forwards the client's CONNECT_OPEN (read-only on a read-only
// socket) and, when libvirtd accepted it, finishes the opening.
func (s *session) open(m *frame.Message, args *proto.RemoteConnectOpenArgs) error {
	if s.srv.opts.ReadOnly {
		ro := *args
		ro.Flags |= connectRO
		body, err := proto.Marshal(&ro)
		if err != nil {
			return err
		}
		m = &frame.Message{Header: m.Header, Body: body}
		args = &ro
	}
	s.mu.Lock()
	s.pending[m.Header.Serial].onReply = func(r *frame.Message, fds []int) {
		closeFDs(fds)
		if r.Header.Status != frame.OK {
			s.mu.Lock()
			s.state = preOpen
			s.mu.Unlock()
			s.forwardReply(r, nil)
			return
		}
		s.spawn(func() { s.finishOpen(r, args) })
	}
	s.mu.Unlock()
	return s.up.write(m, nil)
}

// finishOpen passes the client's identity to libvirtd, opens the lookup
// connection, checks the connection's own @acl (connect:getattr) and
// only then tells the client its connection is open. Any failure denies
// and ends the session.
func (s *session) finishOpen(reply *frame.Message, args *proto.RemoteConnectOpenArgs) {
	ctx, cancel := context.WithTimeout(s.ctx, s.srv.opts.OpenTimeout)
	defer cancel()
	fail := func(what string, err error, eb *frame.ErrorBody) {
		s.warn(what, err)
		if eb == nil {
			eb = libvirtError(errInternal, fromRPC, "internal error: virt-acl-helper guard: "+what)
		}
		s.replyError(reply.Header, eb)
		s.shutdown()
	}
	if err := s.callUpstream(ctx, proto.RemoteProcConnectSetIdentity,
		&proto.RemoteConnectSetIdentityArgs{Params: identityParams(s.cred, s.subject)}); err != nil {
		fail("cannot pass the client's identity to libvirtd", err, nil)
		return
	}
	lc, err := dialLookup(ctx, s.srv.opts.Upstream, s.srv.table, args.Name, args.Flags)
	if err != nil {
		fail("cannot open the lookup connection", err, nil)
		return
	}
	var typ proto.RemoteConnectGetTypeRet
	if err := lc.call(ctx, proto.RemoteProcConnectGetType, nil, &typ); err != nil {
		lc.close()
		fail("cannot read the connection's driver", err, nil)
		return
	}
	s.mu.Lock()
	s.lookup, s.driver = lc, typ.Type
	s.mu.Unlock()
	p, _ := s.srv.table.Lookup(proto.Remote, int32(proto.RemoteProcConnectOpen))
	if eb := s.checker().checkCall(ctx, p, args); eb != nil {
		fail("connection refused by policy", errors.New(eb.Error()), eb)
		return
	}
	s.mu.Lock()
	s.state = open
	s.mu.Unlock()
	s.forwardReply(reply, nil)
}

// callUpstream makes a call of the guard's own on the client's libvirtd
// connection, with a serial no client call uses, and waits for its reply.
func (s *session) callUpstream(ctx context.Context, num proto.RemoteProcedure, args proto.Message) error {
	p, ok := s.srv.table.Lookup(proto.Remote, int32(num))
	if !ok {
		return fmt.Errorf("procedure %d unknown", num)
	}
	body, err := proto.Marshal(args)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Name(), err)
	}
	ch := make(chan *frame.Message, 1)
	s.mu.Lock()
	for {
		s.serial++
		if _, used := s.pending[s.serial]; !used {
			break
		}
	}
	serial := s.serial
	s.pending[serial] = &pendingCall{prog: uint32(proto.Remote), proc: int32(num), onReply: func(r *frame.Message, fds []int) {
		closeFDs(fds)
		ch <- r
	}}
	s.mu.Unlock()
	m := &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Vers: proto.Remote.Version(),
		Proc: int32(num), Type: frame.Call, Serial: serial}, Body: body}
	if err := s.up.write(m, nil); err != nil {
		return err
	}
	select {
	case r := <-ch:
		return decodeReply(p, r, nil)
	case <-ctx.Done():
		s.dropPending(serial)
		return ctx.Err()
	}
}
