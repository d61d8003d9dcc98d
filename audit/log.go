// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"log/slog"
)

// warn logs msg at most once per ratelimit.WarnEvery for its kind: a
// broken audit path must not flood the daemon's log at the decision rate.
func (w *Writer) warn(kind, msg string, attrs ...slog.Attr) {
	ok, held := w.limit.Allow(kind)
	if !ok {
		return
	}
	if held > 0 {
		attrs = append(attrs, slog.Uint64("suppressed", held))
	}
	w.log.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}

// logDecision writes r to the daemon's log (audit_logging): grants at Info,
// denials at Warn. slog quotes what needs quoting.
func (w *Writer) logDecision(r Record) {
	level, msg := slog.LevelWarn, "access denied"
	if r.Granted {
		level, msg = slog.LevelInfo, "access granted"
	}
	attrs := []slog.Attr{
		slog.String("permission", r.Permission),
		slog.String("action_id", r.ActionID),
		slog.String("object_type", r.ObjectType),
	}
	if r.VMName != "" {
		attrs = append(attrs, slog.String("vm", r.VMName))
	}
	if r.UUID != "" {
		attrs = append(attrs, slog.String("uuid", r.UUID))
	}
	details := make([]any, 0, len(r.Details))
	for _, d := range r.Details {
		details = append(details, slog.String(d.Key, d.Value))
	}
	attrs = append(attrs,
		slog.Group("object", details...),
		slog.Int("pid", r.PID),
		slog.Uint64("uid", uint64(r.UID)),
		slog.Uint64("auid", uint64(r.AUID)),
		slog.Uint64("session", uint64(r.Session)),
		slog.String("exe", r.Exe),
		slog.String("driver", r.Driver),
		slog.Bool("cached", r.Cached))
	if r.FrontEnd != "" {
		attrs = append(attrs, slog.String("frontend", r.FrontEnd))
	}
	if r.Operation != "" {
		attrs = append(attrs, slog.String("operation", r.Operation))
	}
	if !r.Granted {
		attrs = append(attrs, slog.String("reason", r.Reason))
	}
	w.log.LogAttrs(context.Background(), level, msg, attrs...)
}
