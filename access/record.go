// SPDX-License-Identifier: Apache-2.0

package access

import (
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// detailsChunk is how many details a recordBuilder of a list allocates
// at once: a domain's three (connect_driver, domain_name, domain_uuid)
// for a batch of the writer's records.
const detailsChunk = 3 * 64

// recordBuilder maps the decisions of a list to their records. What the
// records share is worked out once rather than per decision, since a list
// of 10,000 would otherwise allocate it 10,000 times: the action id of
// the permission asked, the requester, and the memory of the details,
// carved from chunks of chunk details (0: one allocation per record).
// Records keep what they were given: they are read, never changed, by
// the audit writer.
type recordBuilder struct {
	chunk int

	perm      acl.Permission
	action    string // the Request.Action the id was worked out for
	actionID  string
	origin    *proc.Process // the requester mapped last, to req
	requester *audit.Requester
	details   []audit.Detail // room for the next records' details
}

// record returns the record of decision d on r.
func (b *recordBuilder) record(r Request, d Decision) audit.Record {
	rec := audit.Record{
		Granted:   d.Allowed,
		PID:       int(r.Subject.PID),
		UID:       r.Subject.UID,
		AUID:      r.Subject.LoginUID,
		Session:   r.Subject.Session,
		Exe:       r.Subject.Exe,
		Driver:    d.Driver,
		Cached:    d.Cached,
		FrontEnd:  r.Origin.FrontEnd,
		Operation: r.Origin.Operation,
		Rule:      r.Origin.Rule,
		Where:     r.Origin.Where,
		Requester: b.requesterOf(r.Origin.Requester),
	}
	if !d.Allowed {
		rec.Reason = d.Reason.String()
	}
	// A refusal (Engine.Refuse) may name no permission or object: the
	// record then leaves them empty ("?").
	if r.Permission.Valid() {
		rec.Permission, rec.ActionID = r.Permission.Name(), b.actionIDOf(r)
	}
	if !r.Object.Valid() {
		return rec
	}
	rec.ObjectType = r.Object.Type().String()
	if r.Object.Type() == acl.Domain {
		// vm= and uuid= are what ausearch --vm-name and --uuid match.
		rec.VMName, rec.UUID = r.Object.Name(), r.Object.UUID()
	}
	rec.Details = b.detailsOf(r.Object)
	return rec
}

// actionIDOf returns r's action id, worked out again only when the
// permission or action differs from the last record's.
func (b *recordBuilder) actionIDOf(r Request) string {
	if b.actionID == "" || r.Permission != b.perm || r.Action != b.action {
		b.perm, b.action, b.actionID = r.Permission, r.Action, r.ActionID()
	}
	return b.actionID
}

// requesterOf maps the process that asked on the subject's behalf, once
// for the records of one Origin.Requester.
func (b *recordBuilder) requesterOf(q *proc.Process) *audit.Requester {
	if q == nil {
		return nil
	}
	if q != b.origin {
		b.origin, b.requester = q, &audit.Requester{PID: int(q.PID), UID: q.UID, Exe: q.Exe}
	}
	return b.requester
}

// detailsOf returns o's details, in memory carved from the builder's
// chunk.
func (b *recordBuilder) detailsOf(o acl.Object) []audit.Detail {
	n := o.DetailCount()
	if cap(b.details)-len(b.details) < n {
		b.details = make([]audit.Detail, 0, max(n, b.chunk))
	}
	start := len(b.details)
	for k, v := range o.AllDetails() {
		b.details = append(b.details, audit.Detail{Key: k, Value: v})
	}
	// The next record's details must not be appended into this one's.
	return b.details[start:len(b.details):len(b.details)]
}
