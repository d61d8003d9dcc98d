// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"iter"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
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
