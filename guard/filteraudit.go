// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// What a filtered list leaves in the audit log (README.md, "The guard
// (preview)"): the per-object decisions, marked Listing, are audited
// when made afresh, not each time the cache repeats them; and each list
// call writes one record of its own, naming the client, the procedure,
// the filter permission and how many objects it listed, showed and hid.
// An event is filtered as a list of one (events.go): its record names
// the event's procedure, listed=1, and shown=1 or hidden=1.
// A list that hid something is a denial (reason=filtered, or the reason
// of a decision that failed: hiddenReason), so that
// "ausearch -m USER_AVC --success no" finds who was kept from seeing how
// much, and, for the objects decided afresh, their own records (vm=,
// uuid=) say which. An event the guard drops undecided is recorded
// too, with driver=guard and a reason of its own: undecodable, no-filter,
// lookup-failed (eventdrops.go), unidentified (unidentified.go), or
// invalid-request when the engine did not decide it. Entries left out
// undecided are counted (undecided=N) beside hidden, as the reason
// names only the more serious cause: hidden minus undecided is what
// decisions hid.
//
// Only a lookup or decision the session's end cut short leaves none, of
// an event (withholdEvent) as of a list (sendFiltered): the client is
// gone, nothing was withheld from or refused anyone, and a refusal would
// give a cause the list did not have. A failure of its own is recorded
// even when the session ended meanwhile.

// sessionEnded reports whether err is the session's end (ctx's, whose
// error it wraps) cutting a lookup or decision short.
func sessionEnded(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// listOrigin is the origin of a list's per-object decisions.
func listOrigin(p *proto.Procedure) access.Origin {
	o := originOf(p)
	o.Listing = true
	return o
}

// hiddenReason says why a list (or an event) hid what it hid: its
// decisions' own reason, as a decision's record names it, when one of
// them was not the policy's (audit-failed: the object's record was not
// written, at audit level required; unavailable: the drivers could not
// decide), the more serious first; then unidentified, when the guard
// left entries out undecided (unidentified.go); else filtered, the
// policy's doing. An auditor then never reads a failure as a policy's
// answer.
func hiddenReason(ds []access.Decision, unidentified int) string {
	reason := "filtered"
	if unidentified > 0 {
		reason = reasonUnidentified
	}
	for _, d := range ds {
		switch d.Reason {
		case access.AuditFailed:
			return d.Reason.String()
		case access.Unavailable:
			reason = d.Reason.String()
		}
	}
	return reason
}

// auditList writes the record of one filtered list, or event: listed
// objects in libvirtd's reply, of which shown passed. ds are the engine's
// decisions, one per object decided; those listed beyond them were left
// out undecided, and counted so (undecided=; none cached means the
// record says cached=no).
func (c *checker) auditList(ctx context.Context, p *proto.Procedure, perm acl.Permission, listed, shown int, ds []access.Decision) error {
	cached := len(ds) > 0
	for _, d := range ds {
		cached = cached && d.Cached
	}
	undecided := listed - len(ds)
	return c.writeListRecord(ctx, listRecord{origin: originOf(p), perm: perm, listed: listed, shown: shown, undecided: undecided,
		cached: cached, reason: hiddenReason(ds, undecided), driver: c.engine.Stack()})
}

// listRecord is what the record of a list, or an event, says.
type listRecord struct {
	origin        access.Origin
	perm          acl.Permission // the filter permission; zero when not known
	listed, shown int
	undecided     int // of the hidden, those left out undecided (undecided=)
	cached        bool
	reason        string         // why something was hidden (a denial's reason=)
	driver        string         // the drivers that decided, or the guard itself
	entry         []audit.Detail // what names the object of an event the guard could not identify
}

// writeListRecord writes r through the engine's auditor. It names the
// entries left out undecided (undecided=) only when there are some:
// the reason names one cause of a list's hiding, the more serious, and
// an auditor reads what decisions hid as hidden minus undecided.
func (c *checker) writeListRecord(ctx context.Context, r listRecord) error {
	hidden := r.listed - r.shown
	details := []audit.Detail{
		{Key: "listed", Value: strconv.Itoa(r.listed)},
		{Key: "shown", Value: strconv.Itoa(r.shown)},
		{Key: "hidden", Value: strconv.Itoa(hidden)},
	}
	if r.undecided > 0 {
		details = append(details, audit.Detail{Key: "undecided", Value: strconv.Itoa(r.undecided)})
	}
	details = append(details, r.entry...)
	d := access.Decision{Allowed: hidden == 0, Driver: r.driver, Cached: r.cached}
	if err := c.writeRecord(ctx, r.origin, r.perm, d, r.reason, details); err != nil {
		return fmt.Errorf("auditing the list: %w", err)
	}
	return nil
}

// writeRecord writes, through the engine's auditor, the record of d on
// perm's object type (perm may be zero: not known) with reason, when d
// is a denial, and details in place of an object's.
func (c *checker) writeRecord(ctx context.Context, origin access.Origin, perm acl.Permission, d access.Decision,
	reason string, details []audit.Detail) error {
	rec := access.AuditRecord(access.Request{Subject: c.subject, Permission: perm, Origin: origin}, d)
	if perm.Valid() {
		rec.ObjectType = perm.Object().String()
	}
	if !d.Allowed && reason != "" {
		rec.Reason = reason
	}
	rec.Details = details
	_, err := c.engine.AuditEvent(ctx, rec)
	return err
}
