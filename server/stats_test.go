// SPDX-License-Identifier: Apache-2.0

package server

import (
	"reflect"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
)

// TestStatsAudit: the audit writer's counters reach the reply, losses
// named by cause; an engine without them has no audit member.
func TestStatsAudit(t *testing.T) {
	tests := []struct {
		name string
		in   *audit.Stats
		want *accessapi.AuditStats
	}{
		{"no auditor counters", nil, nil},
		{"none lost", &audit.Stats{Level: audit.Auto, Sent: 7, Queued: 1},
			&accessapi.AuditStats{Level: 1, Sent: 7, Queued: 1, LostBy: map[string]uint64{}}},
		{"lost by cause", &audit.Stats{Level: audit.Required, Sent: 5, KernelLost: 2, Lost: audit.Losses{audit.QueueFull: 3, audit.Timeout: 1}},
			&accessapi.AuditStats{Level: 2, Sent: 5, Lost: 4, KernelLost: 2, LostBy: map[string]uint64{"queue-full": 3, "timeout": 1}}},
		{"every cause", &audit.Stats{Level: audit.Auto, Lost: audit.Losses{audit.Unavailable: 1, audit.Refused: 2,
			audit.Disabled: 3, audit.QueueFull: 4, audit.Netlink: 5, audit.Timeout: 6, audit.Closed: 7}},
			&accessapi.AuditStats{Level: 1, Lost: 28, LostBy: map[string]uint64{"unavailable": 1, "refused": 2,
				"disabled": 3, "queue-full": 4, "netlink": 5, "timeout": 6, "closed": 7}}},
	}
	for _, tt := range tests {
		got := statsOf("polkit", access.Stats{Audit: tt.in}, 0).Audit
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: audit stats %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
