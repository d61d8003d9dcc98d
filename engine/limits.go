// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// SummaryEvery is how often a generation accounts for the requests its
// rate limit refused: one audit record and one log line per limited uid.
const SummaryEvery = ratelimit.WarnEvery

// Admit reports whether caller may have n more decisions under
// rate_limit, and takes them if so. A front end asks it before deciding
// for a caller other than root; when it says no, the front end exempts
// the caller if it is a proxy (privileged reports whether: it is asked
// only then), or else refuses the request with an error, not a decision,
// and the refusal is accounted for in the next summary. A generation
// without a rate limit admits everything.
func (g *Generation) Admit(caller proc.Process, n int, privileged func() bool) bool {
	if g.Rate == nil || g.Rate.Allow(caller, n) || privileged() {
		return true
	}
	g.Rate.Refuse(caller)
	return false
}

// summarise writes, every SummaryEvery until stop is closed and once more
// then, one audit record and one log line per uid whose requests the rate
// limit refused.
func (g *Generation) summarise(stop <-chan struct{}, done chan<- struct{}, log *slog.Logger) {
	defer close(done)
	t := time.NewTicker(SummaryEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			g.writeSummaries(log)
			return
		}
		g.writeSummaries(log)
	}
}

func (g *Generation) writeSummaries(log *slog.Logger) {
	for _, r := range g.Rate.Drain() {
		log.Warn("requests refused over rate_limit", "uid", r.UID, "refused", r.Calls,
			"interval", SummaryEvery, "rate_limit", g.Config.RateLimit, "last_pid", r.Last.PID)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := g.Engine.AuditEvent(ctx, RefusalRecord(r, SummaryEvery)); err != nil {
			log.Warn("summary of refused requests not audited", "uid", r.UID, "err", err)
		}
		cancel()
	}
}

// RefusalRecord is the audit record that accounts for one uid's requests
// refused by the rate limit during one interval: a denial with
// reason=rate-limited, the uid's last refused process as its subject, and
// the count. It is found like any record of the user (ausearch -ua UID).
func RefusalRecord(r limit.Refusals, interval time.Duration) audit.Record {
	return audit.Record{
		Reason: "rate-limited",
		PID:    int(r.Last.PID), UID: r.UID, AUID: r.Last.LoginUID, Session: r.Last.Session, Exe: r.Last.Exe,
		Driver: "rate-limit",
		Details: []audit.Detail{
			{Key: "refused_calls", Value: strconv.FormatUint(r.Calls, 10)},
			{Key: "interval_seconds", Value: strconv.Itoa(int(interval / time.Second))},
		},
	}
}
