// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// redefine that domain, and the grant hand it to this creator. The
	// locks of its name and UUID are held to the end, so that two
	// creators of one document cannot both pass.
	unlock, err := s.waitOwning(ctx, c.own.uses)
	if err != nil {
		s.replyError(h, c.refuse(ctx, origin, aclNone, objNone, err))
		return
	}
	defer unlock()
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

// waitOwning takes the create-own locks of the domain uses names: its
// name, and its UUID if it has one (else libvirt makes a fresh one). It
// waits at most until ctx's deadline, and no longer than the client stays
// connected: the definition's own ctx outlives the client, so that a
// domain defined is always recorded or undone, but a client gone has
// nothing to wait for.
func (s *session) waitOwning(ctx context.Context, uses xmlpolicy.Uses) (unlock func(), err error) {
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	unlock, err = s.srv.owning.lock(wait, ownKeys(uses)...)
	if err != nil {
		return nil, fmt.Errorf("waiting for another definition of domain %q: %w", uses.Name, err)
	}
	return unlock, nil
}

// ownKeys are the create-own lock keys of the domain uses names. A UUID
// is keyed as libvirt reads it, whatever its spelling.
func ownKeys(uses xmlpolicy.Uses) []string {
	keys := []string{"name " + uses.Name}
	if uses.UUID == "" {
		return keys
	}
	key := strings.ToLower(uses.UUID)
	if u, err := parseUUID(uses.UUID); err == nil {
		key = uuidString(u)
	}
	return append(keys, "uuid "+key)
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
