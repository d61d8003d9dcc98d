// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// Events (MESSAGE, serial 1) reach a client only for the callbacks it
// registered; libvirt filters each by the @aclfilter permission of the
// registering procedure, on the object the event names
// (src/remote/remote_daemon_dispatch.c remoteRelay*Event). Every register
// procedure of one object type filters with the same permission, so the
// guard decides an event by the object it names and the permission the
// register procedures of that object type filter with.

// eventRegisterProcs are the procedures that register event callbacks.
var eventRegisterProcs = map[procKey]bool{
	remote(proto.RemoteProcConnectDomainEventRegister):                   true,
	remote(proto.RemoteProcConnectDomainEventRegisterAny):                true,
	remote(proto.RemoteProcConnectDomainEventCallbackRegisterAny):        true,
	remote(proto.RemoteProcConnectNetworkEventRegisterAny):               true,
	remote(proto.RemoteProcConnectStoragePoolEventRegisterAny):           true,
	remote(proto.RemoteProcConnectNodeDeviceEventRegisterAny):            true,
	remote(proto.RemoteProcConnectSecretEventRegisterAny):                true,
	{proto.QEMU, int32(proto.QEMUProcConnectDomainMonitorEventRegister)}: true,
}

// eventPerms returns the permission events about each object type are
// filtered with, from the register procedures' @aclfilter rules.
func eventPerms(t *proto.Table) (map[acl.ObjectType]acl.Permission, error) {
	perms := map[acl.ObjectType]acl.Permission{}
	for k := range eventRegisterProcs {
		p, ok := t.Lookup(k.prog, k.num)
		if !ok {
			return nil, fmt.Errorf("event register procedure %d unknown", k.num)
		}
		for _, f := range p.Filters() {
			if have, dup := perms[f.Object()]; dup && have != f {
				return nil, fmt.Errorf("%s filters %s events with %s, another register procedure with %s", p.Name(), f.Object(), f, have)
			}
			perms[f.Object()] = f
		}
	}
	return perms, nil
}

// eventQueueLen bounds the events waiting for a decision per client;
// past it libvirtd's messages wait (as they would for a slow client).
const eventQueueLen = 256

// queueEvent hands an event to the session's event filter, in order.
func (s *session) queueEvent(m *frame.Message) error {
	select {
	case s.events <- m:
		return nil
	case <-s.ctx.Done():
		return errClosed
	}
}

// eventLoop decides the session's events in the order libvirtd sent
// them and passes on those the client may see.
func (s *session) eventLoop() {
	perms, err := eventPerms(s.srv.table)
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.events:
			if err != nil {
				s.dropUnfiltered(s.ctx, s.checker(), m.Header, err)
				continue
			}
			if s.eventAllowed(s.ctx, s.checker(), perms, m) {
				if s.client.write(m, nil) != nil {
					s.shutdown()
					return
				}
			}
		}
	}
}

// eventAllowed decides one event: an event naming an object goes to the
// client only if it may use the object with the filter permission. An
// event the guard cannot decode or decide is dropped.
func (s *session) eventAllowed(ctx context.Context, c *checker, perms map[acl.ObjectType]acl.Permission, m *frame.Message) bool {
	h := m.Header
	p, ok := s.srv.table.Lookup(proto.Program(h.Prog), h.Proc)
	if !ok {
		s.dropEvent(ctx, c, h, nil, acl.Permission{}, reasonUndecodable,
			fmt.Errorf("unknown event procedure %d of program %#x", h.Proc, h.Prog))
		return false
	}
	perm, err := eventPerm(p, perms)
	if err != nil {
		s.dropEvent(ctx, c, h, p, acl.Permission{}, reasonUnidentified, err)
		return false
	}
	msg, err := p.DecodeMsg(m.Body)
	if err != nil {
		s.dropEvent(ctx, c, h, p, perm, reasonUndecodable, err) // err names p
		return false
	}
	if !perm.Valid() {
		if objectless[keyOf(p)] {
			return true
		}
		s.dropEvent(ctx, c, h, p, perm, reasonUnidentified, fmt.Errorf("%s names no object the guard filters on", p.Name()))
		return false
	}
	vals := fieldsOf(msg, nonnullType[perm.Object()])
	if len(vals) != 1 {
		s.dropEvent(ctx, c, h, p, perm, reasonUnidentified, fmt.Errorf("%s names %d %s objects", p.Name(), len(vals), perm.Object()))
		return false
	}
	return s.decideEvent(ctx, c, h, p, perm, vals[0])
}

// decideEvent decides whether the client may see an event of p (header
// h) about the object libvirtd described in v, and audits it as a list
// of one (filteraudit.go): the object's own record when decided afresh,
// and the event's record every time, cached or not, so that no event
// withheld from a client goes unrecorded. An event whose object the
// guard cannot build, or that the engine does not decide, is dropped
// and recorded as dropEvent records it, unless the session's end cut it
// short (withholdEvent). At
// audit level required, an event whose record was not written is
// dropped, as a list's is refused.
func (s *session) decideEvent(ctx context.Context, c *checker, h frame.Header, p *proto.Procedure, perm acl.Permission, v any) bool {
	obj, err := c.objects.fromValue(ctx, v)
	if err != nil {
		return s.withholdEvent(ctx, c, h, p, perm, v, unidentifiedReason(err), err)
	}
	d, err := c.engine.Check(ctx, access.Request{Subject: c.subject, Object: obj, Permission: perm, Origin: listOrigin(p)})
	if err != nil {
		return s.withholdEvent(ctx, c, h, p, perm, v, undecidedReason(err), err)
	}
	shown := 0
	if d.Allowed {
		shown = 1
	}
	if err := c.auditList(ctx, p, perm, 1, shown, []access.Decision{d}); err != nil {
		s.warn("event dropped", fmt.Errorf("%s: %w", p.Name(), err))
		return false
	}
	return d.Allowed
}

// eventPerm returns the permission events of procedure p are filtered
// with, by the object type its message names (the same in every
// message of p: the types of its fields); zero if it names none, an
// error if it names objects of two types the guard filters on (no
// event of libvirt 9.0.0 does), as the guard could not tell which
// decides it.
func eventPerm(p *proto.Procedure, perms map[acl.ObjectType]acl.Permission) (acl.Permission, error) {
	msg := p.NewMsg()
	var found acl.Permission
	for t, perm := range perms {
		if len(fieldsOf(msg, nonnullType[t])) == 0 {
			continue
		}
		if found.Valid() {
			return acl.Permission{}, fmt.Errorf("%s names both %s and %s objects", p.Name(), found.Object(), t)
		}
		found = perm
	}
	return found, nil
}

// objectless are the events that name no object: they pass.
var objectless = map[procKey]bool{
	remote(proto.RemoteProcConnectEventConnectionClosed): true,
}
