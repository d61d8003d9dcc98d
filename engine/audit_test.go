// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/config"
)

// TestAuditQueueSize: the queue holds a whole CheckMany of max_objects
// records on top of the default.
func TestAuditQueueSize(t *testing.T) {
	for _, tt := range []struct{ maxObjects, want int }{
		{16384, audit.DefaultQueueSize + 16384},
		{1, audit.DefaultQueueSize + 1},
		{0, audit.DefaultQueueSize},
	} {
		if got := auditQueueSize(config.Config{MaxObjects: tt.maxObjects}); got != tt.want {
			t.Errorf("max_objects %d: queue %d, want %d", tt.maxObjects, got, tt.want)
		}
	}
}
