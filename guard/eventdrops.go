// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The events the guard withholds undecided (events.go), and what each
// leaves in the audit trail: the event's record, a list of one hidden
// undecided (undecided=1), driver=guard, with a reason naming why:
// undecodable, no-filter, unidentified (unidentified.go), lookup-failed,
// invalid-request. The one event withheld unrecorded is one whose lookup
// or decision the session's end cut short.

// withholdEvent drops the event of p about v that the guard failed to
// identify or decide (cause), recording it with reason (dropEvent),
// unless the failure is the session's end itself (the client hung up,
// libvirtd's connection was lost, client_max_lifetime, the guard
// stopping): nothing is withheld from anyone then, and the lookup or
// decision it cut short failed for no reason of the event's, which a
// record would misstate. A failure of its own is recorded even when the
// session ended meanwhile. It returns false: the event is not passed.
func (s *session) withholdEvent(ctx context.Context, c *checker, h frame.Header, p *proto.Procedure, perm acl.Permission, v any,
	reason string, cause error) bool {
	if sessionEnded(ctx, cause) {
		s.log.Debug("guard: event dropped, the session ended", "operation", p.Name(), "err", cause)
		return false
	}
	s.dropEvent(ctx, c, h, p, perm, reason, fmt.Errorf("%s: %w", p.Name(), cause), entryDetails(perm, v)...)
	return false
}

// reasonLookupFailed is the reason of the record of an event whose
// object the guard could not identify because its own lookup in libvirtd
// failed (the lookup connection lost, libvirtd's internal error): the
// object may well exist, and "unidentified" would send an auditor after
// an odd object. A lookup libvirtd answered with the object gone is
// unidentified.
const reasonLookupFailed = "lookup-failed"

// unidentifiedReason names why the guard could not build an event's
// object (err, from objects.fromValue).
func unidentifiedReason(err error) string {
	if errors.Is(err, errLookup) && !libvirtdSays(err, errNoStoragePool) && !libvirtdSays(err, errNoNwfilterBinding) {
		return reasonLookupFailed
	}
	return reasonUnidentified
}

// reasonInvalid is the reason of the record of an event whose decision
// the engine refused to make, the request being invalid
// (access.ErrInvalid: no usable subject, or an object or permission
// the guard built wrong). No driver was asked.
//
// A list call the engine refuses so is recorded reason=refused instead,
// and that is no second name for one thing: the call is refused, its
// client told so, and its record is the refusal's (Engine.Refuse), whose
// reason is the one every call the guard refuses has, whatever the cause
// (an undecodable call too), the cause going to the guard's log. An
// event is refused to no one: it is withheld unseen, and its own record,
// a list of one, is all that says why, so its reason names the cause as
// an undecodable event's does. One reason for both would take the guard's
// causes into the engine's refusal, or the cause out of the event's.
const reasonInvalid = "invalid-request"

// undecidedReason names why the engine did not decide an event, from
// Check's error: the request invalid. Check fails otherwise only with
// its context's end, which withholdEvent records nothing for; any other
// error (none today) is named as a driver's failure is
// (access.Unavailable), never as the policy's answer.
func undecidedReason(err error) string {
	if errors.Is(err, access.ErrInvalid) {
		return reasonInvalid
	}
	return access.Unavailable.String()
}

// reasonNoFilter is the reason of the record of an event dropped because
// the guard does not know what permission events are filtered with: its
// protocol table lacks an event register procedure, or two of them
// filter one object type with different permissions (eventPerms). No
// event can be decided then; each is dropped, and recorded.
const reasonNoFilter = "no-filter"

// dropUnfiltered drops an event (header h) that cannot be decided, as
// eventPerms failed (cause), and records it: the event's procedure
// when the guard knows it, reason no-filter.
func (s *session) dropUnfiltered(ctx context.Context, c *checker, h frame.Header, cause error) {
	p, _ := s.srv.table.Lookup(proto.Program(h.Prog), h.Proc) // nil if unknown: the record names program and number
	s.dropEvent(ctx, c, h, p, acl.Permission{}, reasonNoFilter, fmt.Errorf("event filter permissions: %w", cause))
}

// reasonUndecodable is the reason of the record of an event the guard
// could not decode (or does not know): libvirtd's message is not what
// the protocol says (a newer or broken libvirtd, a damaged message).
const reasonUndecodable = "undecodable"

// dropEvent withholds an event the guard cannot decide, and records that
// it did: the event's record, a list of one hidden and left out
// undecided (undecided=1), with reason, the entry details that name
// its object when it names one, and
// driver=guard (the guard dropped it, no driver was asked), and a log
// warning (rate-limited) with the cause. The event is dropped whether
// or not its record is written: it was never decided.
func (s *session) dropEvent(ctx context.Context, c *checker, h frame.Header, p *proto.Procedure, perm acl.Permission,
	reason string, cause error, entry ...audit.Detail) {
	s.warn("event dropped", cause)
	r := listRecord{origin: callOrigin(h, p), perm: perm, listed: 1, undecided: 1, reason: reason, driver: FrontEnd, entry: entry}
	if err := c.writeListRecord(ctx, r); err != nil {
		s.warn("event dropped unaudited", fmt.Errorf("%s: %w", r.origin.Operation, err))
	}
}
