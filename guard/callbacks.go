// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The event callbacks a client may hold registered are bounded
// (guard_max_event_callbacks, README "The guard (preview)"). libvirtd
// sends each event once per callback it matches, and the guard decides
// and audits each of those messages: the callbacks a client holds
// multiply the records its events write, enough, unbounded, to crowd
// the kernel's audit queue at audit_level 1 (other decisions' records
// lost) or hold the client's event loop on the kernel at level 2.
// libvirtd bounds most of that itself: it refuses a second callback
// for the same event and object on one connection ("event callback
// already tracked", src/conf/object_event.c), so an event reaches at
// most three callbacks of a connection; but callbacks of QEMU monitor
// events filtered by event name are never alike to it, and it caps the
// number of callbacks nowhere. Nor does it refuse a registration for
// being one too many, so the guard answers one past the bound with an
// error of its own that libvirt's clients report as any failed
// registration (virsh prints it; virt-manager falls back to polling),
// and audits the refusal.

// eventDeregisterProcs are the procedures that remove a callback one of
// eventRegisterProcs added.
var eventDeregisterProcs = map[procKey]bool{
	remote(proto.RemoteProcConnectDomainEventDeregister):                   true,
	remote(proto.RemoteProcConnectDomainEventDeregisterAny):                true,
	remote(proto.RemoteProcConnectDomainEventCallbackDeregisterAny):        true,
	remote(proto.RemoteProcConnectNetworkEventDeregisterAny):               true,
	remote(proto.RemoteProcConnectStoragePoolEventDeregisterAny):           true,
	remote(proto.RemoteProcConnectNodeDeviceEventDeregisterAny):            true,
	remote(proto.RemoteProcConnectSecretEventDeregisterAny):                true,
	{proto.QEMU, int32(proto.QEMUProcConnectDomainMonitorEventDeregister)}: true,
}

// maxCallbacks is guard_max_event_callbacks of the current generation
// (its default for a generation built without a configuration).
func (s *session) maxCallbacks() int {
	if n := s.srv.opts.Runtime.Current().Config.GuardMaxEventCallbacks; n > 0 {
		return n
	}
	return config.DefaultMaxEventCallbacks
}

// countCallbacks wraps onReply, the reply handler of an event
// registration or deregistration p, to keep the session's count of
// callbacks: a registration, which took its place before it was decided
// (reserveCallback, so that concurrent ones cannot pass the bound
// together), keeps it only if libvirtd registered it; a deregistration
// frees one if libvirtd removed it.
func (s *session) countCallbacks(p *proto.Procedure, onReply func(*frame.Message, []int)) func(*frame.Message, []int) {
	key := keyOf(p)
	switch {
	case eventRegisterProcs[key]:
		return func(r *frame.Message, fds []int) {
			if r.Header.Status != frame.OK {
				s.dropCallback()
			}
			onReply(r, fds)
		}
	case eventDeregisterProcs[key]:
		return func(r *frame.Message, fds []int) {
			if r.Header.Status == frame.OK {
				s.dropCallback()
			}
			onReply(r, fds)
		}
	}
	return onReply
}

// reserveCallback takes a place for one more callback, or refuses the
// registration p past the bound: audited, logged, and answered with
// the error returned. Root is not limited.
func (s *session) reserveCallback(c *checker, p *proto.Procedure) *frame.ErrorBody {
	limit := s.maxCallbacks()
	s.mu.Lock()
	held := s.callbacks
	ok := s.unlimited || held < limit
	if ok {
		s.callbacks++
	}
	s.mu.Unlock()
	if ok {
		return nil
	}
	c.audit(s.ctx, originOf(p), aclNone, objNone,
		fmt.Errorf("%d event callbacks registered, guard_max_event_callbacks %d", held, limit))
	return tooManyCallbacks(limit)
}

// dropCallback frees a place. The count never goes below zero: a
// deregistration libvirtd accepted for a callback the guard did not
// count must not make room past the bound.
func (s *session) dropCallback() {
	s.mu.Lock()
	s.callbacks = max(s.callbacks-1, 0)
	s.mu.Unlock()
}
