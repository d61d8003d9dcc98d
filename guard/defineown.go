// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// defineOwn makes a definition create-own allowed itself, on a
// connection of the guard's own that acts as root, records the creator,
// and answers the client with libvirtd's reply. Not on the client's
// connection: libvirtd acts there as the client (CONNECT_SET_IDENTITY),
// and its own polkit access driver would decide domain:write on a UUID
// no rule can grant before it exists, which is the question create-own
// answers instead. It runs on after the client hangs up (bounded), so
// that the domain is always either owned or undefined again.
func (s *session) defineOwn(c *checker, p *proto.Procedure, h frame.Header, args proto.Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), ownTimeout)
	defer cancel()
	origin := originOf(p)
	ret, ok := definedRet(args)
	if !ok {
		s.replyError(h, c.refuse(ctx, origin, aclNone, objNone, fmt.Errorf("%w: %s is not a definition", errUnsupported, p.Name())))
		return
	}
	s.mu.Lock()
	name, flags := s.openName, s.openFlags
	s.mu.Unlock()
	conn, err := dialLibvirtd(ctx, s.srv.opts.Upstream, s.srv.table, name, flags)
	if err != nil {
		s.replyError(h, c.refuse(ctx, origin, aclNone, objNone, err))
		return
	}
	defer conn.close()
	c.objects.up = conn // the undefine, should recording fail, needs write access
	// Still new? Between the decision and now another client may have
	// defined it; a definition of the same name and UUID would then
	// redefine that domain, and the grant hand it to this creator. Held
	// to the end, so that two creators of one document cannot both pass.
	s.srv.owning.Lock()
	defer s.srv.owning.Unlock()
	isNew, eb := c.checkIdentity(ctx, origin, c.own.uses)
	if eb == nil && !isNew {
		eb = c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleIdentity, Path: "/domain",
			Reason: "a domain of this name or uuid was defined meanwhile"})
	}
	if eb != nil {
		s.replyError(h, eb)
		return
	}
	err = conn.call(ctx, proto.RemoteProcedure(h.Proc), args, ret)
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		s.replyError(h, re.Body) // libvirtd's own refusal: a bad document, a name taken meanwhile
		return
	case err != nil:
		s.replyError(h, c.refuse(ctx, origin, aclNone, objNone, err))
		return
	}
	dom, _ := definedDomain(ret)
	if eb := c.recordOwner(ctx, origin, dom); eb != nil {
		s.replyError(h, eb)
		return
	}
	body, err := proto.Marshal(ret)
	if err != nil {
		s.replyError(h, c.refuse(ctx, origin, aclNone, objNone, err))
		return
	}
	s.forwardReply(&frame.Message{Header: frame.Header{Prog: h.Prog, Vers: h.Vers, Proc: h.Proc, Type: frame.Reply,
		Serial: h.Serial, Status: frame.OK}, Body: body}, nil)
}

// definedRet returns the reply a definition's call takes.
func definedRet(args proto.Message) (proto.Message, bool) {
	switch args.(type) {
	case *proto.RemoteDomainDefineXMLArgs:
		return &proto.RemoteDomainDefineXMLRet{}, true
	case *proto.RemoteDomainDefineXMLFlagsArgs:
		return &proto.RemoteDomainDefineXMLFlagsRet{}, true
	}
	return nil, false
}

// definedDomain returns the domain a definition's reply names.
func definedDomain(ret proto.Message) (proto.RemoteNonnullDomain, bool) {
	switch r := ret.(type) {
	case *proto.RemoteDomainDefineXMLRet:
		return r.Dom, true
	case *proto.RemoteDomainDefineXMLFlagsRet:
		return r.Dom, true
	}
	return proto.RemoteNonnullDomain{}, false
}
