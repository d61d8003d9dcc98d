// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"iter"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// AuditTo returns an Auditor that writes one kernel audit record per
// decision to w, and takes batches (BatchAuditor). Whether a lost record
// fails the decision is w's audit level's business.
func AuditTo(w *audit.Writer) Auditor { return auditWriter{w} }

type auditWriter struct{ w *audit.Writer }

func (a auditWriter) Audit(ctx context.Context, r Request, d Decision) error {
	return a.w.Write(ctx, AuditRecord(r, d))
}

// AuditMany writes the decisions' records with one WriteMany: at level 2
// they wait for the kernel together.
func (a auditWriter) AuditMany(ctx context.Context, decisions iter.Seq2[Request, Decision]) []error {
	return a.w.WriteMany(ctx, func(yield func(audit.Record) bool) {
		b := recordBuilder{chunk: detailsChunk}
		for r, d := range decisions {
			if !yield(b.record(r, d)) {
				return
			}
		}
	})
}

func (a auditWriter) WriteRecord(ctx context.Context, rec audit.Record) error {
	return a.w.Write(ctx, rec)
}

// AuditStats returns the kernel audit writer's counters.
func (a auditWriter) AuditStats() audit.Stats { return a.w.Stats() }

// AuditCounter is implemented by auditors that count the records they
// wrote and lost; Stats reports them.
type AuditCounter interface {
	AuditStats() audit.Stats
}

// BatchAuditor is an Auditor that also records many decisions in one
// call. CheckMany hands it the decisions it served from the cache, so
// that at audit level 2 their records wait for the kernel together, not
// one after another.
type BatchAuditor interface {
	Auditor
	// AuditMany records each decision of decisions, in order. It returns
	// nil when every record was accepted, else one error per decision:
	// nil where the record was accepted, the reason where it was not
	// (the engine then denies that one).
	AuditMany(ctx context.Context, decisions iter.Seq2[Request, Decision]) []error
}

// RecordWriter is implemented by auditors that also write records that
// are no decision, such as a summary of refused requests.
type RecordWriter interface {
	WriteRecord(ctx context.Context, rec audit.Record) error
}

// AuditEvent writes rec through the engine's auditor, if it writes
// records other than decisions; it reports whether it did.
func (e *Engine) AuditEvent(ctx context.Context, rec audit.Record) (bool, error) {
	w, ok := e.auditor.(RecordWriter)
	if !ok {
		return false, nil
	}
	return true, w.WriteRecord(ctx, rec)
}

// AuditRecord maps a decision to its audit record.
func AuditRecord(r Request, d Decision) audit.Record {
	var b recordBuilder
	return b.record(r, d)
}

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
