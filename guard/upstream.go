// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
		if pc == nil && s.streamErrorReply(h) {
			s.mu.Unlock()
			closeFDs(fds)
			return s.client.write(m, nil)
		}
		if pc == nil || pc.onReply == nil || pc.answered || pc.prog != h.Prog || pc.proc != h.Proc {
			s.mu.Unlock()
			closeFDs(fds)
			s.warn("reply dropped", fmt.Errorf("libvirtd replied to no call in flight: program %#x procedure %d serial %d", h.Prog, h.Proc, h.Serial))
			return nil
		}
		// The serial stays in flight until the reply is delivered or
		// refused (release), however long its check takes.
		pc.answered = true
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
		return s.upstreamStream(m)
	}
	closeFDs(fds)
	return fmt.Errorf("unexpected %s message from libvirtd", h.Type)
}

// open decides the client's CONNECT_OPEN (connect:getattr on the driver
// its URI names) and only then forwards it, read-only on a read-only
// socket; when libvirtd accepts it, finishOpen completes the opening. A
// client the policy refuses never makes the guard open anything on
// libvirtd. libvirtd checks the same rule inside the driver's open
// (virConnectOpenEnsureACL in qemuConnectOpen), so the client sees the
// error libvirtd would give: access denied, and a connection still not
// open.
func (s *session) open(m *frame.Message, args *proto.RemoteConnectOpenArgs) {
	h := m.Header
	p, _ := s.srv.table.Lookup(proto.Remote, int32(proto.RemoteProcConnectOpen))
	driver, err := driverOf(args.Name)
	if err != nil {
		s.openRefused(h, s.checker().refuse(s.ctx, originOf(p), aclNone, objNone, err))
		return
	}
	s.mu.Lock()
	s.driver = driver
	s.mu.Unlock()
	if eb := s.checker().checkCall(s.ctx, p, args); eb != nil {
		s.openRefused(h, eb)
		return
	}
	if s.srv.opts.ReadOnly {
		ro := *args
		ro.Flags |= connectRO
		body, err := proto.Marshal(&ro)
		if err != nil {
			s.openRefused(h, s.checker().refuse(s.ctx, originOf(p), aclNone, objNone, err))
			return
		}
		m = &frame.Message{Header: h, Body: body}
		args = &ro
	}
	s.mu.Lock()
	s.pending[h.Serial].onReply = func(r *frame.Message, fds []int) {
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
	if err := s.up.write(m, nil); err != nil {
		s.warn("libvirtd connection failed", err)
		s.shutdown()
	}
}

// openRefused answers a CONNECT_OPEN the guard refused; the connection
// stays unopened, as libvirtd leaves it when an open fails.
func (s *session) openRefused(h frame.Header, eb *frame.ErrorBody) {
	s.mu.Lock()
	s.state, s.driver = preOpen, ""
	s.mu.Unlock()
	s.replyError(h, eb)
}

// connectDrivers maps the URI schemes libvirtd serves to the names of
// their drivers (QEMU_DRIVER_NAME, LXC_DRIVER_NAME), which polkit sees as
// connect_driver.
var connectDrivers = map[string]string{"qemu": "QEMU", "lxc": "LXC"}

// driverOf names the driver a CONNECT_OPEN's URI opens, so that the
// guard can decide connect:getattr before anything is opened. libvirt's
// remote driver sends the URI without its transport ("qemu:///system"
// for "qemu+unix:///system?socket=..."); a URI naming no driver the guard
// knows (none at all: libvirtd would probe) is refused rather than opened
// to find out.
func driverOf(name *string) (string, error) {
	if name == nil || *name == "" {
		return "", errors.New("CONNECT_OPEN names no URI: the guard opens only URIs naming their driver (qemu:///system)")
	}
	scheme, _, ok := strings.Cut(*name, ":")
	scheme, _, _ = strings.Cut(scheme, "+")
	d, known := connectDrivers[strings.ToLower(scheme)]
	if !ok || !known {
		return "", fmt.Errorf("CONNECT_OPEN of %q: the guard opens only the qemu and lxc drivers", *name)
	}
	return d, nil
}

// finishOpen passes the client's identity to libvirtd, opens the lookup
// connection and only then tells the client its connection is open. If
// libvirtd's driver is not the one connect:getattr was decided on, it is
// decided again on libvirtd's. Any failure is refused, audited, and ends
// the session.
func (s *session) finishOpen(reply *frame.Message, args *proto.RemoteConnectOpenArgs) {
	ctx, cancel := context.WithTimeout(s.ctx, s.srv.opts.OpenTimeout)
	defer cancel()
	p, _ := s.srv.table.Lookup(proto.Remote, int32(proto.RemoteProcConnectOpen))
	fail := func(what string, err error, eb *frame.ErrorBody) {
		if eb == nil {
			s.checker().refuse(ctx, originOf(p), aclNone, objNone, fmt.Errorf("%s: %w", what, err))
			eb = libvirtError(errInternal, fromRPC, "internal error: virt-acl-helper guard: "+what)
		}
		s.warn(what, err)
		s.replyError(reply.Header, eb)
		s.shutdown()
	}
	if err := s.callUpstream(ctx, proto.RemoteProcConnectSetIdentity,
		&proto.RemoteConnectSetIdentityArgs{Params: identityParams(s.cred, s.subject)}); err != nil {
		fail("cannot pass the client's identity to libvirtd", err, nil)
		return
	}
	s.mu.Lock()
	s.openName, s.openFlags = args.Name, args.Flags
	if s.srv.opts.ReadOnly {
		s.openFlags |= connectRO
	}
	s.mu.Unlock()
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
	decided := s.driver
	s.lookup, s.driver = lc, typ.Type
	s.mu.Unlock()
	if typ.Type != decided {
		if eb := s.checker().checkCall(ctx, p, args); eb != nil {
			fail("connection refused by policy", errors.New(eb.Error()), eb)
			return
		}
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
		s.release(serial)
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
		s.release(serial)
		return ctx.Err()
	}
}
