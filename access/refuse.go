// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"fmt"
)

// Refuse records that a front end refused r's subject an operation
// without asking the drivers: a call it could not decode, or one it never
// lets through. r needs a valid Subject; its Permission and Object may be
// zero when the operation was too malformed to name them. The refusal is
// audited and counted like any denial, with reason Refused, and returned.
// cause says why, for the returned Decision's Err (never for clients).
func (e *Engine) Refuse(ctx context.Context, r Request, cause error) Decision {
	d := Decision{Reason: Refused, Driver: r.Origin.FrontEnd, Err: cause}
	if r.Subject.PID <= 0 {
		// Nothing can be audited about no process; the caller denies anyway.
		e.stats.invalid.Add(1)
		d.Err = fmt.Errorf("refusal of an invalid subject (pid %d): %w", r.Subject.PID, cause)
		return d
	}
	d = e.audit(ctx, r, d)
	if d.Reason == AuditFailed {
		d.Reason, d.Err = Refused, fmt.Errorf("%w (and %v)", cause, d.Err)
	}
	e.stats.record(d, 0)
	return d
}
