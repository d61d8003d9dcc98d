// SPDX-License-Identifier: Apache-2.0

package server

import (
	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
)

// statsOf is the Stats reply for an engine's counters.
func statsOf(stack string, s access.Stats, conns int) accessapi.Stats {
	out := accessapi.Stats{
		Drivers: stack, Decisions: s.Decisions, Allowed: s.Allowed, Denied: s.Denied,
		Unavailable: s.Unavailable, AuditFailed: s.AuditFailed, Invalid: s.Invalid,
		Invalidations: s.Invalidations, Connections: conns,
		Cache: accessapi.CacheStats(s.Cache),
		Latency: accessapi.LatencyStats{Count: s.Latency.Count, Mean: int64(s.Latency.Mean), P50: int64(s.Latency.P50),
			P99: int64(s.Latency.P99), P999: int64(s.Latency.P999), Max: int64(s.Latency.Max)},
		DriverStats: []accessapi.DriverStats{},
	}
	if a := s.Audit; a != nil {
		out.Audit = &accessapi.AuditStats{Level: int(a.Level), Sent: a.Sent, Lost: a.Lost.Total(),
			LostBy: map[string]uint64{}, Queued: a.Queued, KernelLost: a.KernelLost}
		for c, n := range a.Lost {
			if n > 0 {
				out.Audit.LostBy[audit.Cause(c).String()] = n
			}
		}
	}
	for _, d := range s.Drivers {
		out.DriverStats = append(out.DriverStats, accessapi.DriverStats(d))
	}
	return out
}
